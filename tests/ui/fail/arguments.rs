// Arguments become the key: plain names, no `&mut`, and key bounds met.

#[embercache::cached]
fn mutable(v: &mut Vec<u32>) -> usize {
    v.push(1);
    v.len()
}

#[embercache::cached]
fn pattern((a, b): (u32, u32)) -> u32 {
    a + b
}

struct NotHash;

#[embercache::cached]
fn unhashable(n: u32, x: NotHash) -> u32 {
    let _ = x;
    n
}

fn main() {}
