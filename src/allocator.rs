//! Giving freed heap back to the operating system.
//!
//! A cold start (or a long catch-up) parses large answers and writes the whole history once;
//! glibc's allocator keeps the freed pages in its arenas, so without this the process would stay
//! at that peak for its whole life (measured: about half the heap was free-but-kept at N = 100).

/// Makes every thread allocate from one shared heap (glibc's `M_ARENA_MAX`); call before any
/// thread starts. With an arena per thread, memory freed by one worker (a parsed answer) is not
/// reused by another, and each arena keeps its own free pages; sloburn's threads mostly wait on
/// I/O, so contention for the one heap costs little.
///
/// ```
/// sloburn::allocator::share_one_heap();
/// ```
pub fn share_one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_ARENA_MAX: i32 = -8;
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt sets an allocator parameter under the allocator's own lock.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }
}

/// Returns free heap pages to the OS (glibc's `malloc_trim`); does nothing on other platforms.
/// Costs a walk over the allocator's free lists, so call it after a large tick, not every one.
///
/// ```
/// sloburn::allocator::release_free_memory();
/// ```
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim takes a plain size and only touches allocator state, under
        // its own locks; it is safe to call from any thread at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}
