// A computed key needs its type; a value needs Clone.

#[embercache::cached(key = a + b)]
fn untyped(a: u32, b: u32) -> u32 {
    a * b
}

struct NotClone;

#[embercache::cached]
fn not_clone(n: u32) -> NotClone {
    let _ = n;
    NotClone
}

fn main() {}
