//! [`TieredDb`]: Redis strings and hashes, byte for byte, over the tiered
//! engine: the keys are L2's own, shared with every other client.

use super::core::{Core, Read};
use super::{TieredError, TieredStats};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What L1 holds for a key: a string, or a whole hash.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Str(Arc<[u8]>),
    Hash(Arc<Fields>),
}

/// A hash's fields and values.
type Fields = HashMap<Vec<u8>, Vec<u8>>;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Redis strings and hashes with an L1 in this process (see the [module
/// docs](super)). A hash is cached whole (read with `HGETALL`), so `HGET`
/// of any field of a cached hash is answered by L1. Cheap to clone.
#[derive(Clone)]
pub struct TieredDb {
    core: Arc<Core<Cached>>,
}

impl std::fmt::Debug for TieredDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredDb").finish_non_exhaustive()
    }
}

/// `TieredDb`'s reads: `GET` for a string, `HGETALL` for a hash.
struct Kind {
    hash: bool,
}

impl Read<Cached> for Kind {
    fn command(&self, key: &[u8]) -> redis::Cmd {
        let mut cmd = redis::cmd(if self.hash { "HGETALL" } else { "GET" });
        cmd.arg(key);
        cmd
    }

    fn parse(&self, _key: &[u8], reply: redis::Value) -> Result<Option<Cached>, TieredError> {
        // A key of the other type is the caller's error, as in Redis.
        if let redis::Value::ServerError(e) = &reply {
            return Err(TieredError::Redis(format!("{} {}", e.code(), e.details().unwrap_or_default())));
        }
        cached(reply, self.hash).map_err(|e| TieredError::Redis(e.to_string()))
    }
}

/// A `GET`/`HGETALL` reply as what L1 keeps.
pub(super) fn cached(value: redis::Value, hash: bool) -> redis::RedisResult<Option<Cached>> {
    use redis::FromRedisValue;
    if hash {
        let map: Fields = HashMap::from_owned_redis_value(value)?;
        // An empty hash is no key.
        Ok((!map.is_empty()).then(|| Cached::Hash(Arc::new(map))))
    } else {
        Ok(Option::<Vec<u8>>::from_owned_redis_value(value)?.map(|v| Cached::Str(v.into())))
    }
}

fn as_str(c: Option<Cached>) -> Result<Option<Vec<u8>>, TieredError> {
    match c {
        None => Ok(None),
        Some(Cached::Str(s)) => Ok(Some(s.to_vec())),
        Some(Cached::Hash(_)) => Err(TieredError::Redis(WRONGTYPE.into())),
    }
}

fn as_hash(c: Option<Cached>) -> Result<Option<Arc<Fields>>, TieredError> {
    match c {
        None => Ok(None),
        Some(Cached::Hash(h)) => Ok(Some(h)),
        Some(Cached::Str(_)) => Err(TieredError::Redis(WRONGTYPE.into())),
    }
}

impl TieredDb {
    pub(super) fn new(core: Arc<Core<Cached>>) -> Self {
        TieredDb { core }
    }

    async fn read(&self, key: &[u8], hash: bool) -> Result<Option<Cached>, TieredError> {
        self.core.get(key, &Kind { hash }).await
    }

    /// `GET key`.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TieredError> {
        as_str(self.read(key, false).await?)
    }

    /// `HGET key field`.
    pub async fn hget(&self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>, TieredError> {
        Ok(as_hash(self.read(key, true).await?)?.and_then(|h| h.get(field).cloned()))
    }

    /// `HGETALL key` (an empty map for no key).
    pub async fn hgetall(&self, key: &[u8]) -> Result<HashMap<Vec<u8>, Vec<u8>>, TieredError> {
        Ok(as_hash(self.read(key, true).await?)?.map(|h| (*h).clone()).unwrap_or_default())
    }

    /// `MGET key…`: L1's fresh strings, the others from L2 in one batch.
    pub async fn mget(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, TieredError> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        self.core.get_many(&keys, &Kind { hash: false }).await?.into_iter().map(as_str).collect()
    }

    /// `SET key value [PX ttl]`.
    pub async fn set(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<(), TieredError> {
        self.mset(&[(key, value)], ttl).await
    }

    /// `SET` of every pair (each with `ttl`, if any), in one batch.
    pub async fn mset(&self, pairs: &[(&[u8], &[u8])], ttl: Option<Duration>) -> Result<(), TieredError> {
        let pipes = pairs
            .iter()
            .map(|(k, v)| {
                let mut pipe = redis::pipe();
                pipe.cmd("SET").arg(*k).arg(*v);
                if let Some(ttl) = ttl {
                    pipe.arg("PX").arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
                }
                pipe.ignore();
                pipe
            })
            .collect();
        let keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| *k).collect();
        self.core.write(&keys, pipes).await
    }

    /// `DEL key…`.
    pub async fn del(&self, keys: &[&[u8]]) -> Result<(), TieredError> {
        let pipes = keys.iter().map(|k| one("DEL", k, &[])).collect();
        self.core.write(keys, pipes).await
    }

    /// `HSET key field value…`.
    pub async fn hset(&self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<(), TieredError> {
        let args: Vec<&[u8]> = pairs.iter().flat_map(|(f, v)| [*f, *v]).collect();
        self.core.write(&[key], vec![one("HSET", key, &args)]).await
    }

    /// `HDEL key field…`.
    pub async fn hdel(&self, key: &[u8], fields: &[&[u8]]) -> Result<(), TieredError> {
        self.core.write(&[key], vec![one("HDEL", key, fields)]).await
    }

    /// `PEXPIRE key ttl`.
    pub async fn expire(&self, key: &[u8], ttl: Duration) -> Result<(), TieredError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).to_string();
        self.core.write(&[key], vec![one("PEXPIRE", key, &[ms.as_bytes()])]).await
    }

    /// Counters and the state of the link.
    pub fn stats(&self) -> TieredStats {
        self.core.stats()
    }

    /// Waits until the link to L2 is up, at most `timeout`; `true` if it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.core.wait_connected(timeout).await
    }

    /// Closes the link to L2.
    pub fn close(&self) {
        self.core.close();
    }
}

/// A pipeline of one command on `key` with `args`, its reply ignored.
fn one(name: &str, key: &[u8], args: &[&[u8]]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd(name).arg(key);
    for a in args {
        pipe.arg(*a);
    }
    pipe.ignore();
    pipe
}
