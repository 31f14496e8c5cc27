//! Errors. Each layer has its own enum; all convert into [`Error`].

/// A cache configuration that cannot work, reported by `build()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Both `max_capacity` and `max_weight` were set.
    #[error("max_capacity and max_weight are exclusive: bound the cache by entry count or by weight, not both")]
    CapacityAndWeight,
    /// `max_weight` was set without a weigher.
    #[error("max_weight needs a weigher: without one every entry weighs 1, so use max_capacity instead")]
    WeightWithoutWeigher,
    /// A weigher was set without `max_weight`.
    #[error("a weigher only matters with max_weight: set max_weight, or drop the weigher")]
    WeigherWithoutWeight,
    /// The shard count is out of range.
    #[error("shards must be between 1 and 65536, got {0}")]
    Shards(usize),
    /// A duration that must be positive was zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
}

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
