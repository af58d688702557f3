use thespian::prelude::*;

#[handler]
fn free(_msg: String) {}

#[derive(Default)]
struct NotAnActor;

impl NotAnActor {
    #[handler]
    fn method(&mut self, _msg: String) {}
}

fn main() {
    free(String::new());
    NotAnActor.method(String::new());
}
