use std::time::{Duration, Instant};

use base64::Engine as _;

use super::*;

fn basic(user: &str, password: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
}

fn users(cost: u32) -> Users {
    let hash = bcrypt::hash("correct horse", cost).unwrap();
    Users::new(vec![("alice".into(), hash, cost)])
}

#[tokio::test]
async fn right_wrong_unknown_and_malformed() {
    let users = users(4);
    assert!(users.allows(Some(&basic("alice", "correct horse"))).await);
    assert!(!users.allows(Some(&basic("alice", "correct horsE"))).await);
    assert!(!users.allows(Some(&basic("alice", ""))).await);
    assert!(!users.allows(Some(&basic("bob", "correct horse"))).await);
    assert!(!users.allows(None).await);
    for bad in [
        "Bearer abc",
        "Basic",
        "Basic !!!",
        // "alice" with no colon
        "Basic YWxpY2U=",
    ] {
        assert!(
            !users.allows(Some(&HeaderValue::from_static(bad))).await,
            "{bad}"
        );
    }
    // The scheme is case-insensitive (RFC 7617); a password may hold colons.
    let hash = bcrypt::hash("a:b", 4).unwrap();
    let colon = Users::new(vec![("carol".into(), hash, 4)]);
    let header = basic("carol", "a:b")
        .to_str()
        .unwrap()
        .replace("Basic", "basic");
    assert!(
        colon
            .allows(Some(&HeaderValue::from_str(&header).unwrap()))
            .await
    );
}

/// A right password is verified once, then remembered: the next check costs no bcrypt. A wrong
/// one is never remembered, and an unknown user costs a bcrypt of the same cost, so neither
/// refusal is faster than the other.
#[tokio::test]
async fn verified_once_and_refusals_cost_the_same() {
    // Cost 10: a bcrypt is tens of milliseconds even in release builds, far above a lookup.
    let users = users(10);
    let right = basic("alice", "correct horse");
    let time = |header: HeaderValue| {
        let users = &users;
        async move {
            let started = Instant::now();
            let allowed = users.allows(Some(&header)).await;
            (allowed, started.elapsed())
        }
    };
    let (allowed, first) = time(right.clone()).await;
    assert!(allowed);
    let (allowed, cached) = time(right.clone()).await;
    assert!(allowed);
    assert!(
        cached * 20 < first,
        "cached {cached:?} vs first {first:?}: the second check ran bcrypt again"
    );
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (allowed, t) = time(basic("alice", "wrong")).await;
        assert!(!allowed);
        wrong.push(t);
        let (allowed, t) = time(basic("mallory", "wrong")).await;
        assert!(!allowed);
        unknown.push(t);
    }
    wrong.sort();
    unknown.sort();
    let (wrong, unknown) = (wrong[1], unknown[1]);
    // Each refusal costs a full bcrypt (none is cached) ...
    assert!(wrong * 2 > first, "wrong {wrong:?} vs first {first:?}");
    // ... and an unknown user as much as a known one (a shared machine makes timings noisy,
    // hence the factor 2 rather than equality).
    assert!(
        unknown * 2 > wrong && wrong * 2 > unknown,
        "unknown user {unknown:?} vs wrong password {wrong:?}"
    );
    assert!(first > Duration::from_millis(1));
}

#[test]
fn cache_keys_do_not_collide_across_field_boundaries() {
    assert_ne!(cache_key("ab", "c", "h"), cache_key("a", "bc", "h"));
    assert_ne!(cache_key("a", "b", "h"), cache_key("a", "b", "h2"));
    assert_eq!(cache_key("a", "b", "h"), cache_key("a", "b", "h"));
}
