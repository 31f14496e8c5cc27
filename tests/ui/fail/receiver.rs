// A method taking `self` would share one static cache between instances.

struct Users {
    prefix: String,
}

impl Users {
    #[embercache::cached]
    fn name(&self, id: u64) -> String {
        format!("{}{id}", self.prefix)
    }
}

fn main() {}
