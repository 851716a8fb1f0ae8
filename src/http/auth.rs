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

/// The users of a web config.
#[derive(Debug)]
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
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let verified =
            tokio::task::spawn_blocking(move || bcrypt::verify(password.as_bytes(), &hash))
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

#[cfg(test)]
mod tests;
