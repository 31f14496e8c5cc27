// Something owned must be returned to be cached.

#[embercache::cached]
fn nothing(n: u32) {
    let _ = n;
}

#[embercache::cached]
fn borrowed(s: &str) -> &str {
    s
}

fn main() {}
