use std::cell::Cell;

use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Counter {
    hits: Cell<u32>,
}

#[derive(Default)]
struct Reader;

#[actor]
impl Reader {
    // The borrow lives across `.await`: the message would have to be `Sync`.
    #[handler]
    async fn read(&mut self, msg: &Counter) -> u32 {
        msg.hits.get()
    }
}

fn main() {}
