// One static cache cannot hold every instantiation of a generic function.

#[embercache::cached]
fn generic<T: Clone + std::hash::Hash + Eq + Send + Sync + 'static>(t: T) -> T {
    t
}

#[embercache::cached]
fn impl_arg(t: impl std::fmt::Display) -> String {
    t.to_string()
}

#[embercache::cached]
fn impl_return(n: u32) -> impl std::fmt::Display {
    n
}

fn main() {}
