// Every accepted form compiles, and runs.

use std::sync::Arc;

#[embercache::cached]
fn none() -> u32 {
    1
}

#[embercache::cached(ttl = "500ms", max_capacity = 5, name = "forms::two")]
fn two<'a>(a: &'a str, b: &[u8], c: Arc<str>) -> String {
    format!("{a}{}{c}", b.len())
}

#[embercache::cached(result = true, key: String = format!("{a}/{b}"))]
fn keyed(a: u32, b: u32, _ignored: bool) -> std::io::Result<u64> {
    Ok(u64::from(a + b))
}

#[embercache::cached(option = true, key = b)]
fn first(a: Vec<u32>, b: u32) -> Option<u32> {
    a.first().copied().map(|x| x + b)
}

#[embercache::cached(ttl = "1h30m")]
async fn later(mut n: u64) -> u64 {
    n += 1;
    n
}

/// Attributes and docs stay on the function.
#[must_use]
#[embercache::cached]
pub fn documented(n: u8) -> u8 {
    n
}

fn main() {
    assert_eq!(none(), 1);
    assert_eq!(two("x", &[1, 2], Arc::from("y")), "x2y");
    assert_eq!(keyed(1, 2, true).unwrap(), 3);
    assert_eq!(first(vec![1], 1), Some(2));
    assert_eq!(documented(3), 3);
    let _later = later(1);
}
