use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
#[message(rename = "app::Ping")]
struct Ping;

fn main() {}
