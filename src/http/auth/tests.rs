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

/// A right password is verified once, then remembered: the next check runs no bcrypt. A wrong
/// one is never remembered, and an unknown user runs a bcrypt too, against the hash of the
/// highest configured cost, so neither refusal is cheaper than the other. (Counted, not timed:
/// timings on a shared machine prove nothing.)
#[tokio::test]
async fn verified_once_and_every_refusal_runs_a_bcrypt_of_the_highest_cost() {
    let (cheap, dear) = (
        bcrypt::hash("correct horse", 4).unwrap(),
        bcrypt::hash("battery staple", 6).unwrap(),
    );
    let users = Users::new(vec![
        ("alice".into(), cheap.clone(), 4),
        ("bob".into(), dear.clone(), 6),
    ]);
    let right = basic("alice", "correct horse");
    assert!(users.allows(Some(&right)).await);
    assert_eq!(users.bcrypt_runs(), 1);
    assert!(users.allows(Some(&right)).await);
    assert_eq!(users.bcrypt_runs(), 1, "the second check ran bcrypt again");
    for k in 1..=3 {
        assert!(!users.allows(Some(&basic("alice", "wrong"))).await);
        assert!(!users.allows(Some(&basic("mallory", "wrong"))).await);
        assert_eq!(users.bcrypt_runs(), 1 + 2 * k, "a refusal skipped bcrypt");
    }
    // Malformed headers are refused before any bcrypt.
    assert!(
        !users
            .allows(Some(&HeaderValue::from_static("Basic !!!")))
            .await
    );
    assert_eq!(users.bcrypt_runs(), 7);
    assert_eq!(users.hash_to_verify("mallory"), (false, dear.as_str()));
    assert_eq!(users.hash_to_verify("alice"), (true, cheap.as_str()));
}

#[test]
fn cache_keys_do_not_collide_across_field_boundaries() {
    assert_ne!(cache_key("ab", "c", "h"), cache_key("a", "bc", "h"));
    assert_ne!(cache_key("a", "b", "h"), cache_key("a", "b", "h2"));
    assert_eq!(cache_key("a", "b", "h"), cache_key("a", "b", "h"));
}

/// A flood of refusals runs one bcrypt at a time (as the toolkit's mutex does), so it cannot
/// take every blocking thread and core from the engine; each still pays its bcrypt. Counted,
/// not timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_run_one_bcrypt_at_a_time() {
    let users = Arc::new(users(6));
    let before = users.bcrypt_runs();
    let mut flood = tokio::task::JoinSet::new();
    for k in 0..16 {
        let users = Arc::clone(&users);
        flood.spawn(async move {
            users
                .allows(Some(&basic("alice", &format!("guess {k}"))))
                .await
        });
    }
    while let Some(allowed) = flood.join_next().await {
        assert!(!allowed.unwrap());
    }
    assert_eq!(users.bcrypt_runs() - before, 16);
    assert_eq!(
        tests_support::MOST.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "bcrypt ran concurrently"
    );
}

#[test]
fn debug_output_hides_the_hashes() {
    let users = users(4);
    let hash = users.hash_to_verify("alice").1.to_string();
    let shown = format!("{users:?}");
    assert!(!shown.contains(&hash[7..]), "{shown}");
    assert!(shown.contains("alice"), "{shown}");
}
