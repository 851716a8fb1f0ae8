//! Basic auth against bcrypt hashes, as the exporter toolkit does it.
//!
//! bcrypt is slow by design (about 70 ms at cost 10), so a verified (user, password, hash) is
//! remembered by its SHA-256 and a scrape every 15 s costs one hash lookup, not a bcrypt. Only
//! successes are remembered: every wrong password pays a full bcrypt, and so does an unknown
//! user (against a dummy hash of the highest configured cost), so the time of a refusal tells
//! neither whether the user exists nor how close the guess was. (The dummy is the configured
//! hash of the highest cost, so it costs nothing to make; an unknown user is refused whatever
//! it verifies to.)

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;

/// Verified credentials remembered at most; past it the cache starts over (a flood of distinct
/// right passwords cannot happen, so this only bounds memory).
const MAX_CACHED: usize = 1024;

/// bcrypt verifications run one at a time, process-wide, as the toolkit's mutex does: a flood
/// of wrong passwords then queues (each connection waiting for its turn, within the connection
/// cap) instead of taking every blocking thread and core from the engine. Verified credentials
/// are cached, so scrapes that succeeded once never wait here.
static BCRYPT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The users of a web config.
pub struct Users {
    hashes: HashMap<String, String>,
    /// Verified for users that do not exist, so their refusal costs as much as a wrong password:
    /// the hash of the highest cost.
    dummy: String,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
    /// bcrypt verifications run so far (what the cache saves, and what a refusal costs).
    bcrypt_runs: AtomicU64,
}

impl Users {
    /// `(user, bcrypt hash, its cost)` each, hashes already checked to parse.
    pub(super) fn new(users: Vec<(String, String, u32)>) -> Self {
        let dummy = users
            .iter()
            .max_by_key(|u| u.2)
            .map(|u| u.1.clone())
            .unwrap_or_default();
        Self {
            hashes: users.into_iter().map(|(u, h, _)| (u, h)).collect(),
            dummy,
            verified: Arc::default(),
            bcrypt_runs: AtomicU64::new(0),
        }
    }

    /// Whether an `Authorization` header names a user with the right password.
    pub(super) async fn allows(&self, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header.and_then(credentials) else {
            return false;
        };
        let (known, hash) = self.hash_to_verify(&user);
        let hash = hash.to_string();
        let key = cache_key(&user, &password, &hash);
        if known && self.lock().contains(&key) {
            return true;
        }
        // Never closed, so acquiring only waits. The turn moves into the blocking task: a
        // client hanging up mid-check cannot free it while its bcrypt still runs.
        let Ok(turn) = BCRYPT.acquire().await else {
            return false;
        };
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let verified = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let _counted = tests_support::Running::start();
            bcrypt::verify(password.as_bytes(), &hash)
        })
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
        let allowed = known && verified;
        if allowed {
            let mut cache = self.lock();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(key);
        }
        allowed
    }

    /// The user names, sorted.
    pub(super) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.hashes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Whether `user` exists, and the hash its password is verified against: its own, or for an
    /// unknown user the dummy (the hash of the highest configured cost).
    fn hash_to_verify(&self, user: &str) -> (bool, &str) {
        match self.hashes.get(user) {
            Some(hash) => (true, hash),
            None => (false, &self.dummy),
        }
    }

    /// bcrypt verifications run so far.
    #[cfg(test)]
    pub(super) fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        match self.verified.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Names only: hashes stay out of logs and panics.
impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

/// The same users with the same hashes (a password change is a change).
impl PartialEq for Users {
    fn eq(&self, other: &Self) -> bool {
        self.hashes == other.hashes
    }
}

/// `Basic base64(user:password)` to its parts; `None` for any other shape.
fn credentials(header: &HeaderValue) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// SHA-256 over the three, length-prefixed so no two triples share an input.
fn cache_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// Counts bcrypt verifications running at once, in the test build only.
#[cfg(test)]
mod tests_support {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    /// The most ever seen running at once.
    pub(super) static MOST: AtomicUsize = AtomicUsize::new(0);

    pub(super) struct Running;

    impl Running {
        pub(super) fn start() -> Self {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            MOST.fetch_max(now, Ordering::SeqCst);
            Running
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(not(test))]
mod tests_support {
    pub(super) struct Running;

    impl Running {
        pub(super) fn start() -> Self {
            Running
        }
    }
}

#[cfg(test)]
mod tests;
