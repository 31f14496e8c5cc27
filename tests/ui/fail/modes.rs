// `result = true` needs a Result, `option = true` an Option, and not both.

#[embercache::cached(result = true)]
fn not_a_result(n: u32) -> u32 {
    n
}

#[embercache::cached(option = true)]
fn not_an_option(n: u32) -> Result<u32, String> {
    Ok(n)
}

#[embercache::cached(result = true, option = true)]
fn both(n: u32) -> Option<u32> {
    Some(n)
}

fn main() {}
