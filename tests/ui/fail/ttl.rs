// A ttl is a string with units, longer than zero.

#[embercache::cached(ttl = 60)]
fn not_a_string(n: u32) -> u32 {
    n
}

#[embercache::cached(ttl = "60")]
fn no_unit(n: u32) -> u32 {
    n
}

#[embercache::cached(ttl = "2d")]
fn unknown_unit(n: u32) -> u32 {
    n
}

#[embercache::cached(ttl = "0s")]
fn zero(n: u32) -> u32 {
    n
}

fn main() {}
