use thespian::prelude::*;

/// Has no `#[derive(Message)]`.
#[derive(Debug)]
struct Plain {
    n: u32,
}

#[derive(Default)]
struct Receiver;

#[actor]
impl Receiver {
    #[handler]
    fn plain(&mut self, msg: Plain) -> u32 {
        msg.n
    }
}

fn main() {}
