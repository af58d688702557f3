//! Message types of every shape: a struct with `Option`, `Vec`, nested struct, enum and
//! `ActorAddress` fields, a tuple struct, a unit struct and an enum.

use thespian::message::{from_bytes, to_bytes};
use thespian::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle { centre: Point, radius: u32 },
    Polygon(Vec<Point>),
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Drawing {
    title: Option<String>,
    shapes: Vec<Shape>,
    origin: Point,
    kind: Shape,
    reply_to: ActorAddress,
    also: Vec<ActorAddress>,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Pair(u8, String);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Tick;

#[derive(Debug, PartialEq, Serialize, Deserialize, Message)]
enum Command {
    Start,
    Move(Point),
    Stop { reason: String },
}

#[derive(Default)]
struct Canvas {
    drawn: usize,
}

#[actor]
impl Canvas {
    #[handler]
    fn draw(&mut self, msg: Drawing, cx: &mut Context<'_>) {
        self.drawn += msg.shapes.len();
        cx.send(&msg.reply_to, Tick);
        for to in &msg.also {
            cx.send(to, Pair(1, msg.title.clone().unwrap_or_default()));
        }
    }

    #[handler]
    fn command(&mut self, msg: Command) -> Command {
        msg
    }

    #[handler]
    fn count(&mut self, _msg: Tick) -> usize {
        self.drawn
    }
}

#[derive(Default)]
struct Sink {
    got: Vec<String>,
}

#[actor]
impl Sink {
    #[handler]
    fn tick(&mut self, _msg: Tick) {
        self.got.push("tick".into());
    }

    #[handler]
    fn pair(&mut self, msg: Pair) {
        self.got.push(format!("{}:{}", msg.0, msg.1));
    }

    #[handler]
    fn got(&mut self, _msg: bool) -> Vec<u8> {
        self.got.join(",").into_bytes()
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);
    let canvas = system.create_actor::<Canvas>()?;
    let sink = system.create_actor::<Sink>()?;

    let drawing = Drawing {
        title: Some("art".into()),
        shapes: vec![
            Shape::Dot,
            Shape::Circle { centre: Point { x: 1, y: 2 }, radius: 3 },
            Shape::Polygon(vec![Point { x: 0, y: 0 }, Point { x: 1, y: 1 }]),
        ],
        origin: Point { x: 0, y: 0 },
        kind: Shape::Dot,
        reply_to: sink.clone().into(),
        also: vec![sink.address().clone()],
    };

    // The message survives the wire, addresses included.
    let bytes = to_bytes(&drawing).unwrap();
    let back = from_bytes(&bytes).unwrap();
    let back = back.downcast_ref::<Drawing>().unwrap();
    assert_eq!(back.shapes, drawing.shapes);
    assert_eq!(back.reply_to, drawing.reply_to);
    assert_eq!(back.title.as_deref(), Some("art"));

    system.tell(&canvas, drawing)?;
    assert_eq!(system.ask::<usize, _, _>(&canvas, Tick, t)?, 3);
    let got: Vec<u8> = system.ask(&sink, true, t)?;
    assert_eq!(String::from_utf8(got).unwrap(), "tick,1:art");

    let stop = Command::Stop { reason: "done".into() };
    assert_eq!(system.ask::<Command, _, _>(&canvas, Command::Start, t)?, Command::Start);
    let moved = Command::Move(Point { x: 1, y: 1 });
    assert_eq!(system.ask::<Command, _, _>(&canvas, Command::Move(Point { x: 1, y: 1 }), t)?, moved);
    assert_eq!(system.ask::<Command, _, _>(&canvas, stop, t)?, Command::Stop { reason: "done".into() });
    system.shutdown()
}
