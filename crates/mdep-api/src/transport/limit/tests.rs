use super::*;

fn limits(per_minute: u32, per_hour: u32) -> Limits {
    Limits {
        per_minute,
        per_hour,
        hunting_per_minute: 2,
        hunting_per_hour: 100,
    }
}

#[tokio::test(start_paused = true)]
async fn calls_beyond_the_minute_wait_for_the_window_to_slide() {
    let l = Limiter::new(limits(3, 100));
    for _ in 0..3 {
        assert_eq!(l.acquire("t", Bucket::General).await, Duration::ZERO);
    }
    let waited = l.acquire("t", Bucket::General).await;
    assert!(
        waited >= Duration::from_secs(60) && waited <= MINUTE,
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn tenants_have_their_own_windows() {
    let l = Limiter::new(limits(1, 100));
    assert_eq!(l.acquire("a", Bucket::General).await, Duration::ZERO);
    assert_eq!(l.acquire("B", Bucket::General).await, Duration::ZERO);
    assert!(l.acquire("A", Bucket::General).await >= Duration::from_secs(59));
}

#[tokio::test(start_paused = true)]
async fn the_hour_limit_holds_across_minutes() {
    let l = Limiter::new(limits(0, 5));
    for _ in 0..5 {
        l.acquire("t", Bucket::General).await;
        tokio::time::advance(Duration::from_secs(61)).await;
    }
    let waited = l.acquire("t", Bucket::General).await;
    // The first call was 5 × 61 s ago; it leaves the hour window after 3600 s.
    assert!(
        waited >= Duration::from_secs(3600 - 305) && waited <= HOUR - Duration::from_secs(305),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_call_of_the_tenant() {
    let l = Limiter::new(limits(100, 1000));
    l.pause("T", Duration::from_secs(30));
    let waited = l.acquire("t", Bucket::General).await;
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "{waited:?}"
    );
    assert_eq!(l.acquire("other", Bucket::General).await, Duration::ZERO);
    assert_eq!(
        l.acquire("t", Bucket::General).await,
        Duration::ZERO,
        "the pause is over"
    );
}

#[tokio::test(start_paused = true)]
async fn hunting_counts_against_both_quotas() {
    let l = Limiter::new(limits(3, 100));
    assert_eq!(l.acquire("t", Bucket::Hunting).await, Duration::ZERO);
    assert_eq!(l.acquire("t", Bucket::Hunting).await, Duration::ZERO);
    // The hunting minute is full; general calls still pass.
    assert_eq!(l.acquire("t", Bucket::General).await, Duration::ZERO);
    assert!(l.acquire("t", Bucket::Hunting).await >= Duration::from_secs(59));
    // The general minute is full now (3 calls plus the delayed hunt after it slid).
    let w = l.windows.lock().expect("lock");
    assert!(w[&("t".to_owned(), Bucket::General)].calls.len() == 4);
}

#[test]
fn hunting_paths_of_both_apis_count_as_hunting() {
    assert_eq!(Bucket::of_path("/api/advancedqueries/run"), Bucket::Hunting);
    assert_eq!(
        Bucket::of_path("/v1.0/security/runHuntingQuery"),
        Bucket::Hunting
    );
    assert_eq!(Bucket::of_path("/api/alerts"), Bucket::General);
}
