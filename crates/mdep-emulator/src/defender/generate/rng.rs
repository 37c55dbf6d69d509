//! The generator's randomness and clock: a seedable generator, the fixed instant all
//! data lies before, and MDE's timestamp formats.

use time::OffsetDateTime;
use time::macros::{datetime, format_description};
use uuid::Uuid;

/// A fixed anchor for generated data (scenario `clock` examples and tests); tenants'
/// data is anchored to their creation time unless the scenario sets `clock`.
pub const ANCHOR: OffsetDateTime = datetime!(2026-11-01 00:00:00 UTC);

/// Largest device or alert count generated per tenant.
pub const MAX_OBJECTS: u32 = 100_000;

/// A small, fast, seedable generator (SplitMix64): the data must not change when a
/// dependency's generator does.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `pct`/100.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// One element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` lower-case hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..n)
            .map(|_| HEX[self.below(16) as usize] as char)
            .collect()
    }

    /// A random (version 4 shaped) GUID.
    pub fn guid(&mut self) -> Uuid {
        let hi = u128::from(self.next_u64());
        let lo = u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }

    /// An instant `min..max` seconds before `t`, with a 100 ns resolution like .NET's.
    pub fn before(&mut self, t: OffsetDateTime, min: i64, max: i64) -> OffsetDateTime {
        let secs = min + self.below((max - min).max(1) as u64) as i64;
        let ticks = self.below(10_000_000) as i64;
        t - time::Duration::seconds(secs) - time::Duration::nanoseconds(ticks * 100)
    }
}

/// `2021-01-26T20:33:57.7220239Z`: MDE's timestamps, 7-digit fractions.
pub fn ts7(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    ))
    .unwrap_or_default()
}

/// `2019-12-08T06:33:39Z`: user first/last seen, whole seconds.
pub fn ts0(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// .NET ticks (100 ns since 0001-01-01), as alert ids carry them.
pub fn ticks(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 100 + 621_355_968_000_000_000
}

/// The seed actually used: the scenario's seed mixed with the tenant id.
pub fn mixed_seed(tenant: Uuid, seed: u64) -> u64 {
    // Each part goes through the generator before it is mixed with the next, so no
    // choice of seed cancels the tenant id out (seed `i` with a tenant id ending in `i`
    // must not give every tenant the same data).
    let (hi, lo) = tenant.as_u64_pair();
    let s = Rng::new(seed).next_u64();
    let h = Rng::new(s ^ hi).next_u64();
    Rng::new(h ^ lo).next_u64()
}
