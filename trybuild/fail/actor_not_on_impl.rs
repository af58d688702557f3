use thespian::prelude::*;

#[actor]
#[derive(Default)]
struct OnStruct;

fn main() {}
