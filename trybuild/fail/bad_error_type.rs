use thespian::prelude::*;

/// Does not implement `Display`.
#[derive(Debug)]
struct Opaque;

#[derive(Default)]
struct Fallible;

#[actor]
impl Fallible {
    #[handler]
    fn check(&mut self, n: u32) -> Result<u32, Opaque> {
        if n > 0 { Ok(n) } else { Err(Opaque) }
    }
}

fn main() {}
