//! `Builder::park_spin`: an idle worker spins briefly, then really sleeps.

use std::time::{Duration, Instant};

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID is a clock
    // every Linux and macOS supports; clock_gettime writes only into `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn a_spinning_worker_still_parks_when_idle_for_long() {
    let rt = tempo::Builder::new()
        .park_spin(Duration::from_micros(100))
        .build()
        .unwrap();
    rt.block_on(async {
        let (cpu, wall) = (thread_cpu(), Instant::now());
        tempo::time::sleep(Duration::from_millis(200)).await;
        let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
        assert!(wall >= Duration::from_millis(200));
        // Spinning the whole time would burn ~200 ms of CPU; parking after 100 µs, ~nothing.
        assert!(
            cpu < Duration::from_millis(50),
            "used {cpu:?} of CPU in {wall:?}"
        );
    });
}

#[test]
fn timers_and_remote_wakes_work_while_spinning() {
    let rt = tempo::Builder::new()
        .park_spin(Duration::from_millis(5))
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..20 {
            let deadline = Instant::now() + Duration::from_micros(300);
            tempo::time::sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
        let (tx, rx) = tempo::sync::oneshot::channel();
        std::thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.await.unwrap(), 7);
    });
}
