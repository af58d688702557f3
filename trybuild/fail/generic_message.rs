use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Envelope<T> {
    inner: T,
}

fn main() {}
