// Unknown, repeated and mistyped options.

#[embercache::cached(tll = "60s")]
fn misspelled(n: u32) -> u32 {
    n
}

#[embercache::cached(max_capacity = 10, max_capacity = 20)]
fn twice(n: u32) -> u32 {
    n
}

#[embercache::cached(max_capacity = 0)]
fn nothing(n: u32) -> u32 {
    n
}

#[embercache::cached(result = "yes")]
fn not_a_bool(n: u32) -> Result<u32, ()> {
    Ok(n)
}

fn main() {}
