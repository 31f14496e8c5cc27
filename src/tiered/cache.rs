//! [`TieredCache`]: typed keys and values over the tiered engine.

use super::core::{Core, Read};
use super::{TieredError, TieredStats};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// A typed cache whose L1 is in this process and whose L2 is Redis (see
/// the [module docs](super) for its reads, writes and consistency).
///
/// Keys are written to L2 as the builder's prefix followed by the key's
/// `Display`; values are encoded with serde in bincode's format, so the
/// keys are shared with other `TieredCache`s of the same types. Cheap to
/// clone (a handle).
pub struct TieredCache<K, V> {
    core: Arc<Core<V>>,
    prefix: Vec<u8>,
    _key: PhantomData<fn(&K)>,
}

impl<K, V> Clone for TieredCache<K, V> {
    fn clone(&self) -> Self {
        TieredCache { core: Arc::clone(&self.core), prefix: self.prefix.clone(), _key: PhantomData }
    }
}

impl<K, V> std::fmt::Debug for TieredCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredCache").field("prefix", &String::from_utf8_lossy(&self.prefix)).finish_non_exhaustive()
    }
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Decodes a value read from L2, which any client may have written: the
/// lengths it claims are bounded by a multiple of its size (found by the
/// `tiered_parse` fuzz target: five bytes claimed a 3.8 GB string), so a
/// bad value costs an error, not the process's memory.
pub(super) fn decode<V: DeserializeOwned>(key: &[u8], bytes: Option<Vec<u8>>) -> Result<Option<V>, TieredError> {
    let Some(bytes) = bytes else { return Ok(None) };
    let decoded = match bytes.len() {
        0..=0xFFFF => decode_limited::<V, { 1 << 20 }>(&bytes),
        0x1_0000..=0xFF_FFFF => decode_limited::<V, { 1 << 28 }>(&bytes),
        _ => decode_limited::<V, { 1 << 34 }>(&bytes),
    };
    let reason = match decoded {
        Ok((v, used)) if used == bytes.len() => return Ok(Some(v)),
        Ok(_) => "trailing bytes".to_string(),
        Err(e) => e.to_string(),
    };
    Err(TieredError::Decode { key: String::from_utf8_lossy(key).into_owned(), reason })
}

fn decode_limited<V: DeserializeOwned, const LIMIT: usize>(
    bytes: &[u8],
) -> Result<(V, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, config().with_limit::<LIMIT>())
}

/// A typed cache's read: `GET`, the value decoded.
struct Typed<V>(PhantomData<fn() -> V>);

impl<V: DeserializeOwned> Read<V> for Typed<V> {
    fn command(&self, key: &[u8]) -> redis::Cmd {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        cmd
    }

    fn parse(&self, key: &[u8], reply: redis::Value) -> Result<Option<V>, TieredError> {
        let bytes = <Option<Vec<u8>> as redis::FromRedisValue>::from_owned_redis_value(reply)
            .map_err(|e| TieredError::Redis(e.to_string()))?;
        decode(key, bytes)
    }
}

/// `SET key value [PX ttl]`.
fn set(pipe: &mut redis::Pipeline, key: &[u8], value: &[u8], ttl: Option<Duration>) {
    pipe.cmd("SET").arg(key).arg(value);
    if let Some(ttl) = ttl {
        pipe.arg("PX").arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
    }
    pipe.ignore();
}

impl<K, V> TieredCache<K, V>
where
    K: Display,
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    pub(super) fn new(core: Arc<Core<V>>, prefix: Vec<u8>) -> Self {
        TieredCache { core, prefix, _key: PhantomData }
    }

    /// The key as written to L2.
    pub fn l2_key(&self, key: &K) -> Vec<u8> {
        use std::io::Write as _;
        let mut k = Vec::with_capacity(self.prefix.len() + 24);
        k.extend_from_slice(&self.prefix);
        // Writing to a Vec cannot fail.
        let _ = write!(k, "{key}");
        k
    }

    /// The value of `key`: from L1 if fresh, else from L2 (filling L1).
    pub async fn get(&self, key: &K) -> Result<Option<V>, TieredError> {
        self.core.get(&self.l2_key(key), &Typed(PhantomData)).await
    }

    /// Writes `value` to L2 (no TTL), then drops `key` from L1.
    pub async fn insert(&self, key: &K, value: V) -> Result<(), TieredError> {
        self.write(key, &value, None).await
    }

    /// Writes `value` to L2 with a TTL, then drops `key` from L1.
    pub async fn insert_with_ttl(&self, key: &K, value: V, ttl: Duration) -> Result<(), TieredError> {
        self.write(key, &value, Some(ttl)).await
    }

    async fn write(&self, key: &K, value: &V, ttl: Option<Duration>) -> Result<(), TieredError> {
        let k = self.l2_key(key);
        let bytes = bincode::serde::encode_to_vec(value, config()).map_err(|e| TieredError::Encode(e.to_string()))?;
        let mut pipe = redis::pipe();
        set(&mut pipe, &k, &bytes, ttl);
        self.core.write(&[&k], vec![pipe]).await
    }

    /// Deletes `key` from L2, then from L1.
    pub async fn remove(&self, key: &K) -> Result<(), TieredError> {
        let k = self.l2_key(key);
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&k).ignore();
        self.core.write(&[&k], vec![pipe]).await
    }

    /// The values of `keys`, in order: L1's fresh ones, the others from L2
    /// in one batch (filling L1).
    pub async fn get_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, TieredError> {
        let l2_keys: Vec<Vec<u8>> = keys.iter().map(|k| self.l2_key(k)).collect();
        self.core.get_many(&l2_keys, &Typed(PhantomData)).await
    }

    /// Writes every pair to L2 in one pipeline (each with `ttl`, if any),
    /// then drops the keys from L1.
    pub async fn insert_many(&self, items: &[(K, V)], ttl: Option<Duration>) -> Result<(), TieredError> {
        let mut pipes = Vec::with_capacity(items.len());
        let mut l2_keys = Vec::with_capacity(items.len());
        for (key, value) in items {
            let k = self.l2_key(key);
            let bytes =
                bincode::serde::encode_to_vec(value, config()).map_err(|e| TieredError::Encode(e.to_string()))?;
            let mut pipe = redis::pipe();
            set(&mut pipe, &k, &bytes, ttl);
            pipes.push(pipe);
            l2_keys.push(k);
        }
        let refs: Vec<&[u8]> = l2_keys.iter().map(Vec::as_slice).collect();
        self.core.write(&refs, pipes).await
    }

    /// Drops `key` from L1 only (L2 keeps it).
    pub fn forget(&self, key: &K) {
        self.core.forget(&self.l2_key(key));
    }

    /// Counters and the state of the link.
    pub fn stats(&self) -> TieredStats {
        self.core.stats()
    }

    /// Waits until the link to L2 is up, at most `timeout`; `true` if it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.core.wait_connected(timeout).await
    }

    /// Closes the link to L2; later reads and writes fail (or serve stale
    /// entries, as configured). Also done when the last handle is dropped.
    pub fn close(&self) {
        self.core.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_other_clients_decode_to_errors_not_panics_or_huge_allocations() {
        // Found by the fuzzer: a length of 3.8 GB in five bytes.
        let claim = vec![0xfc, 0x21, 0x28, 0x07, 0xe3];
        let bad = [claim, b"plain text".to_vec(), Vec::new(), vec![0xff; 9]];
        for bytes in bad {
            assert!(
                matches!(decode::<String>(b"k", Some(bytes.clone())), Err(TieredError::Decode { .. })),
                "{bytes:?}"
            );
            assert!(decode::<Vec<(String, u64)>>(b"k", Some(bytes)).is_err());
        }
        let good = bincode::serde::encode_to_vec("Ada", config()).unwrap();
        assert_eq!(decode::<String>(b"k", Some(good)).unwrap().as_deref(), Some("Ada"));
        assert_eq!(decode::<String>(b"k", None).unwrap(), None);
    }
}
