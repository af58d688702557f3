use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
#[message(name = "")]
struct Nameless;

#[derive(Default)]
struct Anonymous;

#[actor(name = "")]
impl Anonymous {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
