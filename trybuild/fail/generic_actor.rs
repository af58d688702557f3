use thespian::prelude::*;

#[derive(Default)]
struct Holder<T> {
    held: Vec<T>,
}

#[actor]
impl<T: Send + 'static> Holder<T> {
    #[handler]
    fn count(&mut self, _msg: ()) -> usize {
        self.held.len()
    }
}

fn main() {}
