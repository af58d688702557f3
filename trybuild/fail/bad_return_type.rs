use thespian::prelude::*;

#[derive(Default)]
struct Opener;

#[actor]
impl Opener {
    #[handler]
    fn open(&mut self, path: String) -> std::fs::File {
        std::fs::File::open(path).unwrap()
    }

    #[handler]
    async fn open_later(&mut self, fd: u32) -> std::fs::File {
        std::fs::File::open(format!("/dev/fd/{fd}")).unwrap()
    }
}

fn main() {}
