//! Conformance: failures, poison, supervision, dead letters and mailbox bounds, on every base.
//!
//! Ports Thespian's `test_poisonMessage.py`, `test_actorFailures.py`, `test_badmessage.py`,
//! `test_badStartupMessage.py` and `test_deadLettering.py` (one module per original file, one
//! scenario per original test, named after it), plus the rules this port adds or pins down: the
//! retry rule for handlers that borrow or consume their message, supervision (`on_panic =
//! restart`), bounded mailboxes, and a flood of bad input.
//!
//! Every scenario runs on `Simple` and on `Threaded`. Nothing here asserts how fast anything is:
//! only counts and orders. Where `Threaded` works on other threads, the scenario either orders its
//! checks behind the work (a message queued after another to the same actor is handled after it)
//! or polls with `eventually`.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};

use common::{ASK, eventually, let_time_pass};
use thespian::prelude::*;

/// Every deliberate panic in this file says so, and [`QuietPanics`] keeps those (and only those)
/// out of the test output.
const DELIBERATE: &str = "deliberate";

type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// How many scenarios want deliberate panics silenced, and the hook that was there before.
static QUIET: Mutex<(usize, Option<Arc<Hook>>)> = Mutex::new((0, None));

/// While alive, the panic hook drops panics whose message contains [`DELIBERATE`] and passes every
/// other panic (a failing assertion, say) to the hook that was installed before. Scenarios run in
/// parallel, so the hook is shared and restored when the last user is done.
struct QuietPanics;

impl QuietPanics {
    fn install() -> Self {
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        if quiet.0 == 0 {
            let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
            let passed_on = previous.clone();
            std::panic::set_hook(Box::new(move |info| {
                let payload = info.payload();
                let text = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
                if !text.is_some_and(|t| t.contains(DELIBERATE)) {
                    passed_on(info);
                }
            }));
            quiet.1 = Some(previous);
        }
        quiet.0 += 1;
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        quiet.0 -= 1;
        // The hook cannot be changed while this thread panics (a failed scenario): the filter
        // then stays, which only ever hides deliberate panics.
        if quiet.0 == 0
            && !std::thread::panicking()
            && let Some(previous) = quiet.1.take()
        {
            drop(std::panic::take_hook());
            std::panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}

/// Waits until `who` has gone: the framework answers a status request for every live actor, and
/// an ask to an actor that has gone fails with `DeadTarget`.
fn gone(system: &ActorSystem, who: &ActorAddress) -> bool {
    eventually(ASK, || matches!(system.status(who, ASK), Err(Error::DeadTarget(_))))
}

/// The `PoisonMessage` in something an actor sent to the external endpoint.
fn poison(msg: Box<dyn Message>) -> PoisonMessage {
    match msg.downcast::<PoisonMessage>() {
        Ok(poison) => *poison,
        Err(other) => panic!("expected a PoisonMessage, got {other:?}"),
    }
}

/// The message a poison carries, as a `T`.
fn carried<T: Message + Clone>(message: &Option<Box<dyn Message>>) -> Option<T> {
    message.as_ref().and_then(|m| m.downcast_ref::<T>()).cloned()
}

/// `test_poisonMessage.py`: a failing handler sends its message back to the sender as a
/// `PoisonMessage`, and the actor lives on.
mod test_poison_message {
    use super::*;

    /// Tells the counter that something went wrong: the original's `("PoisonMostFoul", why)`.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct PoisonMostFoul(pub String);

    /// Counts the poison messages the chain's actors report ("Poisoned"); answers "Count?" with
    /// the count, or with the failure someone reported.
    #[derive(Default)]
    pub struct PoisonCounter {
        poisoned: u32,
        failed: Option<String>,
    }

    #[actor]
    impl PoisonCounter {
        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            match msg.as_str() {
                "Count?" => match &self.failed {
                    Some(failed) => cx.reply(failed.clone()),
                    None => cx.reply(self.poisoned),
                },
                "Poisoned" => self.poisoned += 1,
                _ => {}
            }
        }

        #[handler]
        fn foul(&mut self, msg: PoisonMostFoul) {
            self.failed = Some(msg.0);
        }
    }

    /// The original's `TestActor`: a number `n` creates a child and passes it `n + 1`, except 3,
    /// which fails; a poison from someone else is reported to the recorder.
    #[derive(Default)]
    pub struct TestActor {
        recorder: Option<ActorAddress>,
    }

    #[actor]
    impl TestActor {
        #[handler]
        fn recorder(&mut self, recorder: ActorAddress) {
            self.recorder = Some(recorder);
        }

        /// Borrows the number, so a failure hands it back in the poison.
        #[handler]
        fn number(&mut self, n: &u32, cx: &mut Context<'_>) -> Result<(), String> {
            if *n == 3 {
                return Err("Yucky number 3".into());
            }
            let next = cx.create_actor::<TestActor>();
            if let Some(recorder) = self.recorder.clone() {
                cx.send(&next, recorder);
            }
            cx.send(&next, *n + 1);
            Ok(())
        }

        #[handler]
        fn poisoned(&mut self, _msg: PoisonMessage, cx: &mut Context<'_>) {
            let Some(recorder) = self.recorder.clone() else { return };
            if cx.sender() == *cx.my_address() {
                cx.send(&recorder, PoisonMostFoul("Got PoisonMessage from self!".into()));
            } else {
                cx.send(&recorder, "Poisoned");
            }
        }

        #[handler]
        fn text(&mut self, msg: String) -> Option<String> {
            (msg == "Hello").then(|| "hi".to_owned())
        }
    }

    /// The original's `Dummy`: "Aside" sends to an invalid address (in Rust: one of another
    /// actor system, given to it beforehand); anything else is greeted.
    #[derive(Default)]
    pub struct Dummy {
        audience: Option<ActorAddress>,
    }

    #[actor]
    impl Dummy {
        #[handler]
        fn audience(&mut self, audience: ActorAddress) {
            self.audience = Some(audience);
        }

        /// Borrows the text, so the poison carries it back.
        #[handler]
        #[allow(clippy::ptr_arg)]
        fn text(&mut self, msg: &String, cx: &mut Context<'_>) {
            match msg.as_str() {
                "Silence!" => {}
                "Aside" => {
                    let audience = self.audience.clone().expect("the test gives the audience first");
                    cx.send(&audience, "hello");
                }
                _ => cx.reply("Greetings."),
            }
        }
    }

    pub fn count(system: &ActorSystem, counter: &Addr<PoisonCounter>) -> u32 {
        let reply = system.ask_any(counter, "Count?", ASK).expect("the counter answers");
        match reply.downcast::<u32>() {
            Ok(n) => *n,
            Err(other) => panic!("the counter reports a failure: {other:?}"),
        }
    }

    /// The original's `waitForCount`: polls until the count is `n`, then checks it.
    fn wait_for_count(system: &ActorSystem, counter: &Addr<PoisonCounter>, n: u32) {
        eventually(ASK, || count(system, counter) == n);
        assert_eq!(count(system, counter), n);
    }

    /// A counter and the first actor of a chain that reports to it.
    fn setup(system: &ActorSystem) -> (Addr<PoisonCounter>, Addr<TestActor>) {
        let counter = system.create_actor::<PoisonCounter>().unwrap();
        let t1 = system.create_actor::<TestActor>().unwrap();
        system.tell(&t1, counter.address().clone()).unwrap();
        assert_eq!(count(system, &counter), 0);
        (counter, t1)
    }

    /// The only child of `parent`, once it has one.
    fn only_child(system: &ActorSystem, parent: &ActorAddress) -> ActorAddress {
        let mut child = None;
        eventually(ASK, || {
            child = system.status(parent, ASK).unwrap().children.first().cloned();
            child.is_some()
        });
        child.unwrap_or_else(|| panic!("{parent} never created a child"))
    }

    /// Checks that a poison (its type, details and message) is what `TestActor` sends back for
    /// the number 3.
    fn is_yucky_three(message_type: &str, details: &str, message: &Option<Box<dyn Message>>) {
        assert_eq!(message_type, "u32");
        assert!(details.contains("Yucky number 3"), "{details}");
        assert_eq!(carried::<u32>(message), Some(3), "the poison carries the number");
    }

    conformance! {
        /// Chain t1 -> t2 -> t3; t3 fails on 3, so t2 (its sender) gets exactly one
        /// PoisonMessage and reports it once.
        fn test_bad_news(system) {
            let (counter, t1) = setup(system);
            system.tell(&t1, 1u32).unwrap();
            wait_for_count(system, &counter, 1);

            // Exactly one: t3 has handled everything it will ever handle (the recorder and 3), so
            // anything it sent t2 is in t2's mailbox ahead of the status request that follows,
            // and t2 has handled exactly the recorder, 2 and one poison.
            let t2 = only_child(system, t1.address());
            let t3 = only_child(system, &t2);
            assert!(eventually(ASK, || system.status(&t3, ASK).unwrap().processed == 2));
            let t2_status = system.status(&t2, ASK).unwrap();
            assert_eq!((t2_status.processed, t2_status.mailbox_len), (3, 0), "{t2_status:?}");
            assert_eq!(system.status(&t1, ASK).unwrap().processed, 2, "t1 got no poison");
            assert_eq!(count(system, &counter), 1);
            assert_eq!(system.ask::<String, _, _>(&t3, "Hello", ASK).unwrap(), "hi", "t3 survived");

            system.tell(&t1, ActorExitRequest::default()).unwrap();
            assert!(gone(system, &t3));
            assert_eq!(count(system, &counter), 1);
        }

        /// Every 2 fails in the child it creates: each time, the sender gets one poison.
        fn test_level2(system) {
            let (counter, t1) = setup(system);
            system.tell(&t1, 2u32).unwrap();
            wait_for_count(system, &counter, 1);
            system.tell(&t1, 2u32).unwrap();
            system.tell(&t1, 2u32).unwrap();
            wait_for_count(system, &counter, 3);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
        }

        /// Every 1 fails two levels down: each time, exactly one poison is reported.
        fn test_level1(system) {
            let (counter, t1) = setup(system);
            system.tell(&t1, 1u32).unwrap();
            wait_for_count(system, &counter, 1);
            system.tell(&t1, 1u32).unwrap();
            system.tell(&t1, 1u32).unwrap();
            wait_for_count(system, &counter, 3);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
        }

        /// A failure on a message sent from outside: the poison goes to the external endpoint
        /// (`listen`), carrying the message; the actor still answers, and no actor saw a poison.
        fn test_level3tell(system) {
            let (counter, t1) = setup(system);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
            system.tell(&t1, 3u32).unwrap();
            let p = poison(system.listen(ASK).unwrap());
            is_yucky_three(&p.message_type, &p.details, &p.message);
            assert_eq!(count(system, &counter), 0);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");

            system.tell(&t1, 3u32).unwrap();
            system.tell(&t1, 3u32).unwrap();
            for _ in 0..2 {
                let p = poison(system.listen(ASK).unwrap());
                is_yucky_three(&p.message_type, &p.details, &p.message);
            }
            assert_eq!(count(system, &counter), 0);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
        }

        /// `ask` of a message whose handler fails returns `Error::Poison` carrying the message;
        /// the actor still answers afterwards, and asks later fail again the same way.
        fn test_level3ask(system) {
            let (counter, t1) = setup(system);
            assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
            for round in 0..3 {
                match system.ask::<String, _, _>(&t1, 3u32, ASK) {
                    Err(Error::Poison { message_type, details, message }) => {
                        is_yucky_three(&message_type, &details, &message);
                    }
                    other => panic!("round {round}: expected Poison, got {other:?}"),
                }
                assert_eq!(count(system, &counter), 0);
                assert_eq!(system.ask::<String, _, _>(&t1, "Hello", ASK).unwrap(), "hi");
            }
        }

        /// Sending to an invalid address (one of another actor system) fails the handler: the
        /// ask gets a poison naming `InvalidActorAddress` and carrying "Aside"; the actor lives on.
        fn test_use_bad_address_in_actor_gets_returned_as_poison(system) [skip_multiproc = "a second system of this base would be a second node on the default admin port; the invalid address case is covered by tests/multiproc_tcp.rs"] {
            let other = ActorSystem::builder().base(system.base()).build().unwrap();
            let stranger = other.create_actor::<Dummy>().unwrap();
            let dummy = system.create_actor::<Dummy>().unwrap();
            system.tell(&dummy, stranger.address().clone()).unwrap();

            match system.ask::<String, _, _>(&dummy, "Aside", ASK) {
                Err(Error::Poison { message_type, details, message }) => {
                    assert_eq!(message_type, "String");
                    assert!(details.contains("InvalidActorAddress"), "{details}");
                    assert_eq!(carried::<String>(&message).as_deref(), Some("Aside"));
                }
                other => panic!("expected Poison, got {other:?}"),
            }
            assert_eq!(system.ask::<String, _, _>(&dummy, "hello", ASK).unwrap(), "Greetings.");
            // Nothing reached the other system's actor, which is fine too.
            assert_eq!(other.status(&stranger, ASK).unwrap().processed, 0);
            other.shutdown().unwrap();
        }
    }
}

/// `test_actorFailures.py`: constructors that panic, parents that restart their children,
/// recursive exits, panics that poison but do not kill, and failing exit handlers.
mod test_actor_failures {
    use super::*;

    /// How many replacements a `RestartParent` makes, as in the original.
    const MAX_CREATES: u32 = 5;
    /// How long "wait for replacement" waits before it answers "not replaced". Replacements in
    /// these scenarios always happen; this only bounds a broken run.
    const REPLACEMENT_WAIT: Duration = Duration::from_secs(5);

    /// The original's strings and wrapper classes, as one request type.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    #[allow(clippy::enum_variant_names)] // `KillReq`, as the original names it
    pub enum Req {
        /// "name?": the actor's own address.
        Name,
        /// "have a son?": creates the son (always a `NonStarter`) once; its address.
        HaveASon,
        /// "have a daughter?": creates the daughter (a `NonStarter`, replaced by a
        /// `RestartParent`) once; its address.
        HaveADaughter,
        /// "poisoned child?": whether a child's failure came back as a poison.
        PoisonedChild,
        /// "wait for replacement": "replaced" once a child has been replaced.
        WaitForReplacement,
        /// `TellSon(msg)`: passes `msg` to the son on behalf of the sender.
        TellSon(Box<Req>),
        /// `TellDaughter(msg)`: passes `msg` to the daughter on behalf of the sender.
        TellDaughter(Box<Req>),
        /// Inside a `TellSon`/`TellDaughter`: that child is sent an `ActorExitRequest`.
        Exit,
        /// `Deadly(n)`: passed down `n` levels, then the handler panics.
        Deadly(u32),
        /// `KillReq(n)`: passed down `n` levels, then the actor sends itself `ActorExitRequest`.
        KillReq(u32),
    }

    /// The original's `PassedMessage`: a request passed on for `orig`, who gets the answer.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct Passed {
        req: Req,
        orig: ActorAddress,
    }

    /// `req` passed down `depth` daughters: `askKid`, `askGrandKid`, `askGreatGrandKid`.
    pub fn down(depth: usize, req: Req) -> Req {
        (0..depth).fold(req, |req, _| Req::TellDaughter(Box::new(req)))
    }

    /// The original's `Parent`: what both parents do.
    #[derive(Default)]
    pub struct Family {
        son: Option<ActorAddress>,
        daughter: Option<ActorAddress>,
        poisoned_child: bool,
    }

    impl Family {
        fn handle(&mut self, req: &Req, sender: &ActorAddress, cx: &mut Context<'_>) -> Result<(), String> {
            match req {
                Req::Name => {
                    let me = cx.my_address().clone();
                    cx.send(sender, me);
                }
                Req::HaveASon => {
                    let son = match &self.son {
                        Some(son) => son.clone(),
                        None => cx.create_actor::<NonStarter>().into_address(),
                    };
                    self.son = Some(son.clone());
                    cx.send(sender, son);
                }
                Req::HaveADaughter => {
                    let daughter = match &self.daughter {
                        Some(daughter) => daughter.clone(),
                        None => cx.create_actor::<NonStarter>().into_address(),
                    };
                    self.daughter = Some(daughter.clone());
                    cx.send(sender, daughter);
                }
                Req::TellSon(inner) | Req::TellDaughter(inner) => {
                    let child = if matches!(req, Req::TellSon(_)) { &self.son } else { &self.daughter };
                    // The original sends to `None` here, which raises InvalidActorAddress.
                    let child = child.clone().ok_or("InvalidActorAddress: no such child")?;
                    if **inner == Req::Exit {
                        cx.send(&child, ActorExitRequest::default());
                    } else {
                        cx.send(&child, Passed { req: (**inner).clone(), orig: sender.clone() });
                    }
                }
                Req::PoisonedChild => cx.send(sender, self.poisoned_child),
                Req::Deadly(0) => panic!("{DELIBERATE}: Deadly value received!"),
                Req::Deadly(n) => {
                    let child = self.son.clone().or(self.daughter.clone()).ok_or("InvalidActorAddress: no child")?;
                    cx.send(&child, Req::Deadly(n - 1));
                }
                Req::KillReq(0) => {
                    let me = cx.my_address().clone();
                    cx.send(&me, ActorExitRequest::default());
                }
                Req::KillReq(n) => {
                    let child = self.son.clone().or(self.daughter.clone()).ok_or("InvalidActorAddress: no child")?;
                    cx.send(&child, Req::KillReq(n - 1));
                }
                Req::WaitForReplacement => cx.send(sender, "not replaced"),
                Req::Exit => {}
            }
            Ok(())
        }

        /// A child failed on something this actor sent it: remember, and tell whoever the
        /// passed request was for.
        fn poisoned(&mut self, poison: &PoisonMessage, cx: &mut Context<'_>) {
            self.poisoned_child = true;
            if let Some(passed) = carried::<Passed>(&poison.message) {
                cx.send(&passed.orig, "poisoned!");
            }
        }
    }

    /// Sons that exit are replaced with a `NonStarter`, daughters with a `RestartParent`, at most
    /// `MAX_CREATES` times.
    #[derive(Default)]
    pub struct RestartParent {
        family: Family,
        replaced: bool,
        creates: u32,
        waiter: Option<ActorAddress>,
    }

    #[actor]
    impl RestartParent {
        #[handler]
        fn req(&mut self, req: &Req, cx: &mut Context<'_>) -> Result<(), String> {
            let sender = cx.sender();
            self.request(req, &sender, cx)
        }

        #[handler]
        fn passed(&mut self, passed: &Passed, cx: &mut Context<'_>) -> Result<(), String> {
            self.request(&passed.req, &passed.orig, cx)
        }

        #[handler]
        fn poisoned(&mut self, poison: PoisonMessage, cx: &mut Context<'_>) {
            self.family.poisoned(&poison, cx);
        }

        #[handler]
        fn child_exited(&mut self, msg: ChildActorExited, cx: &mut Context<'_>) {
            if self.creates < MAX_CREATES {
                self.creates += 1;
                self.replaced = true;
                if self.family.son.as_ref() == Some(&msg.child) {
                    self.family.son = Some(cx.create_actor::<NonStarter>().into_address());
                } else if self.family.daughter.as_ref() == Some(&msg.child) {
                    self.family.daughter = Some(cx.create_actor::<RestartParent>().into_address());
                }
                self.notify_waiter(cx);
            }
        }

        #[handler]
        fn wakeup(&mut self, _msg: WakeupMessage, cx: &mut Context<'_>) {
            self.notify_waiter(cx);
        }
    }

    impl RestartParent {
        fn request(&mut self, req: &Req, sender: &ActorAddress, cx: &mut Context<'_>) -> Result<(), String> {
            match req {
                Req::WaitForReplacement => {
                    if self.replaced {
                        self.replaced = false;
                        cx.send(sender, "replaced");
                    } else {
                        self.waiter = Some(sender.clone());
                        cx.wakeup_after(REPLACEMENT_WAIT, ());
                    }
                    Ok(())
                }
                Req::TellSon(_) | Req::TellDaughter(_) => {
                    self.replaced = false;
                    self.family.handle(req, sender, cx)
                }
                _ => self.family.handle(req, sender, cx),
            }
        }

        fn notify_waiter(&mut self, cx: &mut Context<'_>) {
            if let Some(waiter) = self.waiter.take() {
                cx.send(&waiter, if self.replaced { "replaced" } else { "not replaced" });
                self.replaced = false;
            }
        }
    }

    /// Children that exit are not replaced.
    #[derive(Default)]
    pub struct NoRestartParent {
        family: Family,
    }

    #[actor]
    impl NoRestartParent {
        #[handler]
        fn req(&mut self, req: &Req, cx: &mut Context<'_>) -> Result<(), String> {
            let sender = cx.sender();
            self.family.handle(req, &sender, cx)
        }

        #[handler]
        fn passed(&mut self, passed: &Passed, cx: &mut Context<'_>) -> Result<(), String> {
            self.family.handle(&passed.req, &passed.orig, cx)
        }

        #[handler]
        fn poisoned(&mut self, poison: PoisonMessage, cx: &mut Context<'_>) {
            self.family.poisoned(&poison, cx);
        }

        #[handler]
        fn child_exited(&mut self, _msg: ChildActorExited) {}
    }

    /// Its constructor always panics.
    pub struct NonStarter;

    impl Default for NonStarter {
        fn default() -> Self {
            panic!("{DELIBERATE}: This actor can never start")
        }
    }

    #[actor]
    impl NonStarter {
        /// Echoes, as the original would if it ever started.
        #[handler]
        fn req(&mut self, req: Req) -> Req {
            req
        }
    }

    /// `Deadly` for `Confused`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    pub struct Deadly(pub u32);

    /// Fails on `ActorExitRequest` (a panic) and on `Deadly` (an error); renamed "permanent"
    /// once a child has exited.
    pub struct Confused {
        name: String,
    }

    impl Default for Confused {
        fn default() -> Self {
            Confused { name: "dunno".into() }
        }
    }

    #[actor]
    impl Confused {
        #[handler]
        fn exit(&mut self, _msg: ActorExitRequest) {
            panic!("{DELIBERATE}: Who am I?")
        }

        #[handler]
        fn deadly(&mut self, _msg: &Deadly) -> Result<(), String> {
            Err("Who am I?".into())
        }

        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            match msg.as_str() {
                "name?" => cx.reply(self.name.clone()),
                "subactor?" => {
                    let sub = cx.create_actor::<Confused>().into_address();
                    cx.reply(sub);
                }
                _ => {}
            }
        }

        #[handler]
        fn child_exited(&mut self, _msg: ChildActorExited) {
            self.name = "permanent".into();
        }
    }

    fn ask(system: &ActorSystem, parent: &ActorAddress, req: Req) -> Box<dyn Message> {
        system.ask_any(parent, req.clone(), ASK).unwrap_or_else(|e| panic!("{req:?}: {e}"))
    }

    /// The address of the actor `depth` daughters below `parent`.
    fn name_at(system: &ActorSystem, parent: &ActorAddress, depth: usize) -> ActorAddress {
        let reply = ask(system, parent, down(depth, Req::Name));
        match reply.downcast::<ActorAddress>() {
            Ok(address) => *address,
            Err(other) => panic!("name at depth {depth}: {other:?}"),
        }
    }

    /// A text answer from `depth` daughters below `parent`.
    fn text_at(system: &ActorSystem, parent: &ActorAddress, depth: usize, req: Req) -> String {
        let reply = ask(system, parent, down(depth, req));
        match reply.downcast::<String>() {
            Ok(text) => *text,
            Err(other) => panic!("depth {depth}: {other:?}"),
        }
    }

    fn poisoned_child_at(system: &ActorSystem, parent: &ActorAddress, depth: usize) -> bool {
        system.ask::<bool, _, _>(parent, down(depth, Req::PoisonedChild), ASK).unwrap()
    }

    fn poisoned_children(system: &ActorSystem, parent: &ActorAddress) -> [bool; 4] {
        [0, 1, 2, 3].map(|depth| poisoned_child_at(system, parent, depth))
    }

    fn names(system: &ActorSystem, parent: &ActorAddress) -> [ActorAddress; 4] {
        [0, 1, 2, 3].map(|depth| name_at(system, parent, depth))
    }

    /// A `RestartParent` with three generations of daughters below it, each of which started as
    /// a `NonStarter` and was replaced by a `RestartParent`. Returns the four addresses.
    fn family_of_four(system: &ActorSystem) -> [ActorAddress; 4] {
        let parent = system.create_actor::<RestartParent>().unwrap().into_address();
        for depth in 0..3 {
            let first = ask(system, &parent, down(depth, Req::HaveADaughter));
            let first = *first.downcast::<ActorAddress>().expect("an address, even of a NonStarter");
            assert_eq!(text_at(system, &parent, depth, Req::WaitForReplacement), "replaced");
            assert!(gone(system, &first), "the NonStarter never ran");
        }
        let all = names(system, &parent);
        assert_eq!(all[0], parent);
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b), "distinct actors: {all:?}");
        }
        all
    }

    /// A parent's exit takes its whole subtree: `top` and every one of `below` is gone
    /// afterwards, and so is every other actor.
    fn exit_all(system: &ActorSystem, top: &ActorAddress, below: &[ActorAddress]) {
        system.tell(top, ActorExitRequest::default()).unwrap();
        for a in std::iter::once(top).chain(below) {
            assert!(gone(system, a), "{a} outlived its ancestor's exit");
        }
        assert!(eventually(ASK, || system.stats().actors == 0), "{:?}", system.stats());
    }

    conformance! {
        /// A top-level actor whose constructor panics is not created: `ConstructorPanicked`.
        fn test01_non_starting_system_level_actor(system) {
            let _quiet = QuietPanics::install();
            match system.create_actor::<NonStarter>() {
                Err(Error::ConstructorPanicked { actor, details }) => {
                    assert!(actor.contains("NonStarter"), "{actor}");
                    assert!(details.contains("This actor can never start"), "{details}");
                }
                other => panic!("expected ConstructorPanicked, got {other:?}"),
            }
            assert_eq!(system.stats().actors, 0);
        }

        /// A child whose constructor panics: its address is returned, messages to it are dead
        /// letters, and the parent gets `ChildActorExited` and replaces it (a `NonStarter` again,
        /// a bounded number of times). The parent exits on request.
        fn test02_non_starting_sub_actor_with_restarts(system) {
            let _quiet = QuietPanics::install();
            let parent = system.create_actor::<RestartParent>().unwrap().into_address();
            assert_eq!(name_at(system, &parent, 0), parent);
            let son = *ask(system, &parent, Req::HaveASon).downcast::<ActorAddress>().unwrap();
            assert_ne!(son, parent);
            assert_eq!(text_at(system, &parent, 0, Req::WaitForReplacement), "replaced");
            // Replacements stop: the parent ends with no live children, and stays responsive.
            assert!(eventually(ASK, || system.status(&parent, ASK).unwrap().children.is_empty()));
            assert_eq!(system.stats().actors, 1);

            assert!(matches!(system.status(&son, ASK), Err(Error::DeadTarget(_))));
            let dead_letters = system.stats().dead_letters;
            system.tell(&parent, Req::TellSon(Box::new(Req::Name))).unwrap();
            assert!(eventually(ASK, || system.stats().dead_letters == dead_letters + 1), "{:?}", system.stats());

            assert_eq!(name_at(system, &parent, 0), parent);
            exit_all(system, &parent, &[]);
        }

        /// As test02, but the parent does not replace the son.
        fn test03_non_starting_sub_actor_without_restarts(system) {
            let _quiet = QuietPanics::install();
            let parent = system.create_actor::<NoRestartParent>().unwrap().into_address();
            assert_eq!(name_at(system, &parent, 0), parent);
            let son = *ask(system, &parent, Req::HaveASon).downcast::<ActorAddress>().unwrap();
            assert_eq!(text_at(system, &parent, 0, Req::WaitForReplacement), "not replaced");
            assert!(gone(system, &son));
            let dead_letters = system.stats().dead_letters;
            system.tell(&parent, Req::TellSon(Box::new(Req::Name))).unwrap();
            assert!(eventually(ASK, || system.stats().dead_letters == dead_letters + 1), "{:?}", system.stats());
            // Not replaced: the same (dead) son.
            assert_eq!(*ask(system, &parent, Req::HaveASon).downcast::<ActorAddress>().unwrap(), son);
            assert_eq!(system.stats().actors, 1);

            assert_eq!(name_at(system, &parent, 0), parent);
            exit_all(system, &parent, &[]);
        }

        /// The daughter's NonStarter is replaced by a working RestartParent, which answers for
        /// itself directly and through the parent; the top-level parent's exit takes it along.
        fn test04_restarted_sub_actor_with_restarts(system) {
            let _quiet = QuietPanics::install();
            let parent = system.create_actor::<RestartParent>().unwrap().into_address();
            assert_eq!(name_at(system, &parent, 0), parent);
            let first = *ask(system, &parent, Req::HaveADaughter).downcast::<ActorAddress>().unwrap();
            assert_eq!(text_at(system, &parent, 0, Req::WaitForReplacement), "replaced");
            let stable_kid = name_at(system, &parent, 1);
            assert_ne!(stable_kid, first, "the replacement has a new address");
            assert_eq!(name_at(system, &parent, 0), parent);
            assert_eq!(name_at(system, &parent, 1), stable_kid);
            assert_eq!(system.ask::<ActorAddress, _, _>(&stable_kid, Req::Name, ASK).unwrap(), stable_kid);

            // Top-level actors are not restarted; their children go with them.
            exit_all(system, &parent, &[stable_kid]);
        }

        /// The daughter's NonStarter is not replaced: requests passed to it are dead letters.
        fn test05_restarted_sub_actor_without_restarts(system) {
            let _quiet = QuietPanics::install();
            let parent = system.create_actor::<NoRestartParent>().unwrap().into_address();
            assert_eq!(name_at(system, &parent, 0), parent);
            let kid = *ask(system, &parent, Req::HaveADaughter).downcast::<ActorAddress>().unwrap();
            assert_eq!(name_at(system, &parent, 0), parent);
            assert!(gone(system, &kid));
            let dead_letters = system.stats().dead_letters;
            system.tell(&parent, down(1, Req::Name)).unwrap();
            assert!(eventually(ASK, || system.stats().dead_letters == dead_letters + 1), "{:?}", system.stats());
            assert_eq!(system.stats().actors, 1);
        }

        /// Four generations; the top one's exit takes all of them down, after which every ask
        /// fails.
        fn test06_actor_stack_shutdown(system) {
            let _quiet = QuietPanics::install();
            let all = family_of_four(system);
            let top = all[0].clone();
            exit_all(system, &top, &all);
            let err = system.ask_any(&top, Req::Name, ASK).unwrap_err();
            assert!(matches!(err, Error::DeadTarget(_)), "{err:?}");
        }

        /// Exits deep in the stack: the exited actor's parent replaces it (a new address), the
        /// actors above keep theirs, and the exited actor's own children went with it.
        fn test07_deep_actor_shutdown(system) {
            let _quiet = QuietPanics::install();
            let [parent, kid, grandkid, great] = family_of_four(system);

            // The great-grandkid is told to exit; the grandkid replaces it.
            system.tell(&parent, down(3, Req::Exit)).unwrap();
            assert_eq!(text_at(system, &parent, 2, Req::WaitForReplacement), "replaced");
            assert!(gone(system, &great));
            let [p, k, g, new_great] = names(system, &parent);
            assert_eq!([&p, &k, &g], [&parent, &kid, &grandkid]);
            assert_ne!(new_great, great);

            // The grandkid is told to exit, taking the new great-grandkid along; the kid
            // replaces the grandkid, whose replacement has no daughter.
            system.tell(&parent, down(2, Req::Exit)).unwrap();
            assert_eq!(text_at(system, &parent, 1, Req::WaitForReplacement), "replaced");
            assert!(gone(system, &grandkid));
            assert!(gone(system, &new_great));
            assert_eq!(name_at(system, &parent, 0), parent);
            assert_eq!(name_at(system, &parent, 1), kid);
            let new_grandkid = name_at(system, &parent, 2);
            assert_ne!(new_grandkid, grandkid);
            assert_eq!(text_at(system, &parent, 3, Req::Name), "poisoned!");

            // The parent is top level: no restart.
            exit_all(system, &parent, &[kid, new_grandkid]);
        }

        /// Panics (the original's exceptions, `BadFish`-style) deep in the stack poison the
        /// sender and kill nobody: every actor keeps its address; only the parent of the one
        /// that failed learns of it. A panic in the top-level actor poisons the external sender.
        fn test08_deep_actor_involuntary_termination(system) {
            let _quiet = QuietPanics::install();
            let all = family_of_four(system);
            let parent = all[0].clone();
            assert_eq!(poisoned_children(system, &parent), [false; 4]);

            // The great-grandkid fails; the grandkid (its sender) gets the poison.
            system.tell(&parent, Req::Deadly(3)).unwrap();
            assert!(eventually(ASK, || poisoned_child_at(system, &parent, 2)));
            assert_eq!(names(system, &parent), all);
            assert_eq!(poisoned_children(system, &parent), [false, false, true, false]);

            // The kid fails; its parent (the top one) gets the poison.
            system.tell(&parent, Req::Deadly(1)).unwrap();
            assert!(eventually(ASK, || poisoned_child_at(system, &parent, 0)));
            assert_eq!(names(system, &parent), all);
            assert_eq!(poisoned_children(system, &parent), [true, false, true, false]);

            system.tell(&parent, Req::Deadly(0)).unwrap();
            let p = poison(system.listen(ASK).unwrap());
            assert_eq!(carried::<Req>(&p.message), Some(Req::Deadly(0)));
            assert!(p.details.contains("Deadly value received!"), "{}", p.details);
            assert_eq!(names(system, &parent), all);

            exit_all(system, &parent, &all);
        }

        /// An actor that sends itself ActorExitRequest is gone for good; its parent replaces it
        /// with a new actor (new address) that knows none of the old one's children.
        fn test09_deep_actor_suicide_is_permanent(system) {
            let _quiet = QuietPanics::install();
            let [parent, kid, grandkid, great] = family_of_four(system);
            assert_eq!(poisoned_children(system, &parent), [false; 4]);

            system.tell(&parent, Req::KillReq(3)).unwrap();
            assert_eq!(text_at(system, &parent, 2, Req::WaitForReplacement), "replaced");
            assert!(gone(system, &great));
            let [p, k, g, new_great] = names(system, &parent);
            assert_eq!([&p, &k, &g], [&parent, &kid, &grandkid]);
            assert_ne!(new_great, great);
            assert_eq!(poisoned_children(system, &parent), [false; 4]);

            // The kid goes, and its subtree with it; the replacement kid has no daughter, so
            // requests for the levels below fail in it and come back as "poisoned!".
            system.tell(&parent, Req::KillReq(1)).unwrap();
            assert_eq!(text_at(system, &parent, 0, Req::WaitForReplacement), "replaced");
            for old in [&kid, &grandkid, &new_great] {
                assert!(gone(system, old), "{old} outlived its parent");
            }
            assert_eq!(name_at(system, &parent, 0), parent);
            let new_kid = name_at(system, &parent, 1);
            assert_ne!(new_kid, kid);
            assert_eq!(text_at(system, &parent, 2, Req::Name), "poisoned!");
            assert_eq!(text_at(system, &parent, 3, Req::Name), "poisoned!");
            assert!(poisoned_child_at(system, &parent, 0));
            assert!(!poisoned_child_at(system, &parent, 1));

            system.tell(&parent, Req::KillReq(0)).unwrap();
            assert!(gone(system, &parent));
            assert!(gone(system, &new_kid));
            assert!(eventually(ASK, || system.stats().actors == 0), "{:?}", system.stats());
        }

        /// A handler that fails on ActorExitRequest: the actor exits all the same and its parent
        /// is told (it renames itself "permanent"); the same for a top-level one with children.
        fn test_confused_exit(system) {
            let _quiet = QuietPanics::install();
            let confused = system.create_actor::<Confused>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&confused, "name?", ASK).unwrap(), "dunno");
            let confused2: ActorAddress = system.ask(&confused, "subactor?", ASK).unwrap();
            assert_eq!(system.ask::<String, _, _>(&confused2, "name?", ASK).unwrap(), "dunno");
            system.tell(&confused2, ActorExitRequest::default()).unwrap();
            let confused3: ActorAddress = system.ask(&confused, "subactor?", ASK).unwrap();
            assert!(gone(system, &confused2));
            assert!(eventually(ASK, || system.ask::<String, _, _>(&confused, "name?", ASK).unwrap() == "permanent"));

            system.tell(&confused, ActorExitRequest::default()).unwrap();
            assert!(gone(system, confused.address()));
            assert!(gone(system, &confused3), "the child's failing exit handler did not keep it");
            assert!(eventually(ASK, || system.stats().actors == 0), "{:?}", system.stats());
        }

        /// A handler that fails on an ordinary message: the sender (here the external endpoint)
        /// gets the poison, and the actor (and its parent) carry on unchanged.
        fn test_confused_msgfail(system) {
            let _quiet = QuietPanics::install();
            let confused = system.create_actor::<Confused>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&confused, "name?", ASK).unwrap(), "dunno");
            let confused2: ActorAddress = system.ask(&confused, "subactor?", ASK).unwrap();
            assert_eq!(system.ask::<String, _, _>(&confused2, "name?", ASK).unwrap(), "dunno");
            system.tell(&confused2, Deadly(1)).unwrap();

            let p = poison(system.listen(ASK).unwrap());
            assert_eq!(carried::<Deadly>(&p.message), Some(Deadly(1)));
            assert!(p.details.contains("Who am I?"), "{}", p.details);

            assert_eq!(system.ask::<String, _, _>(&confused, "name?", ASK).unwrap(), "dunno");
            assert_eq!(system.ask::<String, _, _>(&confused2, "name?", ASK).unwrap(), "dunno");
            system.tell(&confused, ActorExitRequest::default()).unwrap();
            assert!(gone(system, confused.address()));
            assert!(gone(system, &confused2));
        }
    }
}

/// `test_badmessage.py`: an actor keeps working when some messages always, or only sometimes,
/// make its handler fail.
mod test_badmessage {
    use super::*;

    /// Always fails (in the original, even describing it fails).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    pub struct BadMessage {
        val: u32,
    }

    /// Fails on every other attempt.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    pub struct BadMessage2 {
        val: u32,
    }

    #[derive(Default)]
    pub struct MyActor {
        count: u32,
    }

    #[actor]
    impl MyActor {
        #[handler]
        fn number(&mut self, n: u32) -> String {
            self.count += 1;
            n.to_string()
        }

        #[handler]
        fn bad(&mut self, msg: &BadMessage) -> Result<String, String> {
            self.count += 1;
            Err(format!("Got a BadMessage: Using an invalid member ({})", msg.val))
        }

        /// Odd attempts fail: a first attempt that fails is retried once and then succeeds.
        #[handler]
        fn bad2(&mut self, msg: &BadMessage2) -> Result<String, String> {
            self.count += 1;
            if self.count & 1 == 1 {
                Err(format!("Got a BadMessage: BadMsg2={}", msg.val))
            } else {
                Ok(format!("BadMsg2={}", msg.val))
            }
        }
    }

    conformance! {
        fn test01_actor_works(system) {
            let mya = system.create_actor::<MyActor>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&mya, 123u32, ASK).unwrap(), "123");
        }

        /// A message that always fails comes back as poison, carrying the message; the actor
        /// keeps working.
        fn test02_always_bad(system) {
            let mya = system.create_actor::<MyActor>().unwrap();
            match system.ask::<String, _, _>(&mya, BadMessage { val: 135 }, ASK) {
                Err(Error::Poison { message, .. }) => {
                    assert_eq!(carried::<BadMessage>(&message), Some(BadMessage { val: 135 }));
                }
                other => panic!("expected Poison, got {other:?}"),
            }
            assert_eq!(system.ask::<String, _, _>(&mya, 456u32, ASK).unwrap(), "456");
        }

        /// A message that fails on its first attempt succeeds on the retry: the failure cannot
        /// be seen from outside.
        fn test03_intermittently_bad(system) {
            let mya = system.create_actor::<MyActor>().unwrap();
            let r = system.ask::<String, _, _>(&mya, BadMessage2 { val: 987 }, ASK).unwrap();
            assert!(r.contains("987"), "{r}");
            let r2 = system.ask::<String, _, _>(&mya, BadMessage2 { val: 654 }, ASK).unwrap();
            assert!(r2.contains("654"), "{r2}");
            assert_eq!(system.ask::<String, _, _>(&mya, 7u32, ASK).unwrap(), "7");
        }
    }
}

/// `test_badStartupMessage.py`: a child that fails on the first message its parent sends it
/// causes no loop and no unbounded growth, and the parent stays responsive.
mod test_bad_startup_message {
    use super::*;

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Poisons;

    #[derive(Default)]
    pub struct Parent {
        poisons: u32,
    }

    #[actor]
    impl Parent {
        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            match msg.as_str() {
                "Make Child" => {
                    let child = cx.create_actor::<Child>();
                    cx.send(&child, "Hello");
                }
                "Hello" => cx.reply("Hi"),
                _ => {}
            }
        }

        #[handler]
        fn poisoned(&mut self, _msg: PoisonMessage) {
            self.poisons += 1;
        }

        #[handler]
        fn poisons(&mut self, _msg: Poisons) -> u32 {
            self.poisons
        }
    }

    #[derive(Default)]
    pub struct Child;

    #[actor]
    impl Child {
        #[handler]
        #[allow(clippy::ptr_arg)]
        fn text(&mut self, msg: &String) -> Result<(), String> {
            if msg == "Hello" { Err("I am Grumpy!".into()) } else { Ok(()) }
        }
    }

    conformance! {
        fn test_fail_on_startup_message(system) {
            let parent = system.create_actor::<Parent>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&parent, "Hello", ASK).unwrap(), "Hi");
            system.tell(&parent, "Make Child").unwrap();
            assert_eq!(system.ask::<String, _, _>(&parent, "Hello", ASK).unwrap(), "Hi");
            assert!(eventually(ASK, || system.ask::<u32, _, _>(&parent, Poisons, ASK).unwrap() == 1));

            let check = || {
                let status = system.status(&parent, ASK).unwrap();
                assert_eq!(status.children.len(), 1, "{status:?}");
                assert_eq!(status.mailbox_len, 0, "{status:?}");
                let child = system.status(&status.children[0], ASK).unwrap();
                assert_eq!((child.processed, child.mailbox_len), (1, 0), "one delivery, no loop: {child:?}");
                assert_eq!(system.ask::<u32, _, _>(&parent, Poisons, ASK).unwrap(), 1);
                assert_eq!(system.stats().actors, 2);
                assert_eq!(system.stats().dead_letters, 0);
            };
            check();
            // A loop would show by now (the original waits a second here).
            let_time_pass(system, Duration::from_millis(100));
            assert_eq!(system.ask::<String, _, _>(&parent, "Hello", ASK).unwrap(), "Hi");
            check();
        }
    }
}

/// The retry rule (DESIGN.md section 7): a handler that borrows its message (`&M`) is retried
/// once, then the sender gets the message back in a `PoisonMessage`; a handler that takes it by
/// value is not retried and its poison has no message; a failure on a `PoisonMessage` sends no
/// poison back.
mod retry_rule {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    pub struct Job(pub u32);

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
    pub struct Boom(pub u32);

    /// How many times the handler has been called.
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Calls;

    /// Fails the first time, succeeds from then on.
    #[derive(Default)]
    pub struct FlakyOnce {
        calls: u32,
    }

    #[actor]
    impl FlakyOnce {
        #[handler]
        fn job(&mut self, job: &Job) -> Result<String, String> {
            self.calls += 1;
            if self.calls == 1 { Err("the first attempt fails".into()) } else { Ok(format!("done {}", job.0)) }
        }

        #[handler]
        fn calls(&mut self, _msg: Calls) -> u32 {
            self.calls
        }
    }

    /// Always fails on a borrowed message: with an error (`Job`) or a panic (`Boom`).
    #[derive(Default)]
    pub struct AlwaysFails {
        calls: u32,
        poisons: u32,
    }

    #[actor]
    impl AlwaysFails {
        #[handler]
        fn job(&mut self, _job: &Job) -> Result<String, String> {
            self.calls += 1;
            Err("always fails".into())
        }

        #[handler]
        fn boom(&mut self, _boom: &Boom) {
            self.calls += 1;
            panic!("{DELIBERATE}: always panics");
        }

        #[handler]
        fn calls(&mut self, _msg: Calls) -> u32 {
            self.calls
        }

        /// Counts poisons sent back to it (there must be none).
        #[handler]
        fn poisoned(&mut self, _msg: PoisonMessage) {
            self.poisons += 1;
        }

        #[handler]
        fn poisons(&mut self, _msg: Poisons) -> u32 {
            self.poisons
        }
    }

    /// Always fails on a message it consumes.
    #[derive(Default)]
    pub struct ByValue {
        calls: u32,
    }

    #[actor]
    impl ByValue {
        #[handler]
        fn job(&mut self, _job: Job) -> Result<String, String> {
            self.calls += 1;
            Err("always fails, by value".into())
        }

        #[handler]
        fn calls(&mut self, _msg: Calls) -> u32 {
            self.calls
        }
    }

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Poisons;

    /// Sends `job` to `to`, from the prober.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct Probe {
        to: ActorAddress,
        job: Job,
    }

    /// What a prober got back: replies, and poisons as (type, details, job carried).
    #[derive(Debug, Clone, Default, Serialize, Deserialize, Message)]
    pub struct Report {
        replies: Vec<String>,
        poisons: Vec<(String, String, Option<Job>)>,
    }

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct GetReport;

    /// An actor sender, so that poisons come back to an actor rather than to an ask.
    #[derive(Default)]
    pub struct Prober {
        report: Report,
    }

    #[actor]
    impl Prober {
        #[handler]
        fn probe(&mut self, probe: Probe, cx: &mut Context<'_>) {
            cx.send(&probe.to, probe.job);
        }

        #[handler]
        fn reply(&mut self, reply: String) {
            self.report.replies.push(reply);
        }

        #[handler]
        fn poisoned(&mut self, p: PoisonMessage) {
            let job = carried::<Job>(&p.message);
            self.report.poisons.push((p.message_type, p.details, job));
        }

        #[handler]
        fn get(&mut self, _msg: GetReport) -> Report {
            self.report.clone()
        }
    }

    /// Sends jobs like a prober, but fails on every poison that comes back.
    #[derive(Default)]
    pub struct Grumpy {
        poison_calls: u32,
    }

    #[actor]
    impl Grumpy {
        #[handler]
        fn probe(&mut self, probe: Probe, cx: &mut Context<'_>) {
            cx.send(&probe.to, probe.job);
        }

        #[handler]
        fn poisoned(&mut self, _p: PoisonMessage) -> Result<(), String> {
            self.poison_calls += 1;
            Err("cannot stomach poison".into())
        }

        #[handler]
        fn calls(&mut self, _msg: Calls) -> u32 {
            self.poison_calls
        }
    }

    /// Probes `to` with `job` from a fresh prober; returns the prober's report once `to` has
    /// handled the job (its calls reached `calls`) and anything it sent back has arrived.
    fn probe(system: &ActorSystem, to: &ActorAddress, job: Job, calls: u32) -> Report {
        let prober = system.create_actor::<Prober>().unwrap();
        system.tell(&prober, Probe { to: to.clone(), job }).unwrap();
        // Once `to` answers `Calls` with the final count, the job's handling (and any reply or
        // poison it sent the prober) is complete, and what it sent is ahead of the next ask.
        assert!(eventually(ASK, || system.ask::<u32, _, _>(to, Calls, ASK).unwrap() == calls));
        assert_eq!(system.ask::<u32, _, _>(to, Calls, ASK).unwrap(), calls);
        let mut report = Report::default();
        eventually(ASK, || {
            report = system.ask(&prober, GetReport, ASK).unwrap();
            report.replies.len() + report.poisons.len() > 0
        });
        report
    }

    conformance! {
        /// A `&M` handler that fails once and then succeeds handles the message on the retry:
        /// the sender gets the reply and no poison.
        fn a_borrowing_handler_that_fails_once_succeeds_on_the_retry(system) {
            let flaky = system.create_actor::<FlakyOnce>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&flaky, Job(7), ASK).unwrap(), "done 7");
            assert_eq!(system.ask::<u32, _, _>(&flaky, Calls, ASK).unwrap(), 2);

            let flaky = system.create_actor::<FlakyOnce>().unwrap().into_address();
            let report = probe(system, &flaky, Job(8), 2);
            assert_eq!(report.replies, ["done 8"]);
            assert!(report.poisons.is_empty(), "{report:?}");
        }

        /// A `&M` handler that always fails is called exactly twice; the sender's poison carries
        /// the message. The same for one that panics.
        fn a_borrowing_handler_that_always_fails_is_called_twice(system) {
            let _quiet = QuietPanics::install();
            let fails = system.create_actor::<AlwaysFails>().unwrap();
            match system.ask::<String, _, _>(&fails, Job(3), ASK) {
                Err(Error::Poison { message_type, details, message }) => {
                    assert!(message_type.ends_with("Job"), "{message_type}");
                    assert!(details.contains("always fails"), "{details}");
                    assert_eq!(carried::<Job>(&message), Some(Job(3)));
                }
                other => panic!("expected Poison, got {other:?}"),
            }
            assert_eq!(system.ask::<u32, _, _>(&fails, Calls, ASK).unwrap(), 2);

            let fails = system.create_actor::<AlwaysFails>().unwrap().into_address();
            let report = probe(system, &fails, Job(4), 2);
            assert!(report.replies.is_empty(), "{report:?}");
            assert_eq!(report.poisons.len(), 1, "{report:?}");
            let (message_type, details, job) = &report.poisons[0];
            assert!(message_type.ends_with("Job") && details.contains("always fails"), "{report:?}");
            assert_eq!(job, &Some(Job(4)));

            let fails = system.create_actor::<AlwaysFails>().unwrap();
            match system.ask::<(), _, _>(&fails, Boom(5), ASK) {
                Err(Error::Poison { details, message, .. }) => {
                    assert!(details.contains("always panics"), "{details}");
                    assert_eq!(carried::<Boom>(&message), Some(Boom(5)));
                }
                other => panic!("expected Poison, got {other:?}"),
            }
            assert_eq!(system.ask::<u32, _, _>(&fails, Calls, ASK).unwrap(), 2);
        }

        /// A by-value handler consumed its message: it is called once and the poison has
        /// `message: None` (but names the type).
        fn a_by_value_handler_is_called_once_and_its_poison_has_no_message(system) {
            let by_value = system.create_actor::<ByValue>().unwrap();
            match system.ask::<String, _, _>(&by_value, Job(1), ASK) {
                Err(Error::Poison { message_type, details, message }) => {
                    assert!(message_type.ends_with("Job"), "{message_type}");
                    assert!(details.contains("always fails, by value"), "{details}");
                    assert!(message.is_none(), "{message:?}");
                }
                other => panic!("expected Poison, got {other:?}"),
            }
            assert_eq!(system.ask::<u32, _, _>(&by_value, Calls, ASK).unwrap(), 1);

            let by_value = system.create_actor::<ByValue>().unwrap().into_address();
            let report = probe(system, &by_value, Job(2), 1);
            assert_eq!(report.poisons.len(), 1, "{report:?}");
            assert!(report.poisons[0].0.ends_with("Job") && report.poisons[0].2.is_none(), "{report:?}");
        }

        /// A handler failing on a PoisonMessage produces no poison back.
        fn a_failure_on_a_poison_message_sends_no_poison_back(system) {
            let fails = system.create_actor::<AlwaysFails>().unwrap();
            let grumpy = system.create_actor::<Grumpy>().unwrap();
            system.tell(&grumpy, Probe { to: fails.address().clone(), job: Job(9) }).unwrap();
            assert!(eventually(ASK, || system.ask::<u32, _, _>(&grumpy, Calls, ASK).unwrap() == 1));
            // Grumpy's failed poison handler is done; any poison it sent is ahead of this ask.
            assert_eq!(system.ask::<u32, _, _>(&fails, Poisons, ASK).unwrap(), 0);
            assert_eq!(system.ask::<u32, _, _>(&fails, Calls, ASK).unwrap(), 2);
            assert_eq!(system.ask::<u32, _, _>(&grumpy, Calls, ASK).unwrap(), 1, "not retried into a loop");
            assert_eq!(system.stats().dead_letters, 0);
        }
    }
}

/// Supervision, beyond Thespian: `#[actor(on_panic = restart)]` replaces the state after a
/// panic, and a restart limit stops the actor; by default an actor keeps its state.
mod supervision {
    use super::*;

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Add(pub u32);

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Boom;

    #[derive(Default)]
    pub struct Phoenix {
        n: u32,
    }

    #[actor(on_panic = restart)]
    impl Phoenix {
        #[handler]
        fn add(&mut self, Add(by): Add) -> u32 {
            self.n += by;
            self.n
        }

        #[handler]
        fn boom(&mut self, _msg: Boom) {
            panic!("{DELIBERATE}: boom");
        }
    }

    #[derive(Default)]
    pub struct Fragile {
        n: u32,
    }

    #[actor(on_panic = restart(max = 2, within = "1h"))]
    impl Fragile {
        #[handler]
        fn add(&mut self, Add(by): Add) -> u32 {
            self.n += by;
            self.n
        }

        #[handler]
        fn boom(&mut self, _msg: Boom) {
            panic!("{DELIBERATE}: boom");
        }
    }

    #[derive(Default)]
    pub struct Keeper {
        n: u32,
    }

    #[actor]
    impl Keeper {
        #[handler]
        fn add(&mut self, Add(by): Add) -> u32 {
            self.n += by;
            self.n
        }

        #[handler]
        fn boom(&mut self, _msg: Boom) {
            panic!("{DELIBERATE}: boom");
        }
    }

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct SpawnFragile;

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct GetExited;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct Exited(pub Vec<ActorAddress>);

    /// Creates `Fragile` children and records which of them exited.
    #[derive(Default)]
    pub struct Supervisor {
        exited: Vec<ActorAddress>,
    }

    #[actor]
    impl Supervisor {
        #[handler]
        fn spawn(&mut self, _msg: SpawnFragile, cx: &mut Context<'_>) -> ActorAddress {
            cx.create_actor::<Fragile>().into_address()
        }

        #[handler]
        fn exited(&mut self, msg: ChildActorExited) {
            self.exited.push(msg.child);
        }

        #[handler]
        fn get(&mut self, _msg: GetExited) -> Exited {
            Exited(self.exited.clone())
        }
    }

    fn boom_is_poison(system: &ActorSystem, who: &ActorAddress) {
        match system.ask_any(who, Boom, ASK) {
            Err(Error::Poison { details, message, .. }) => {
                assert!(details.contains("boom"), "{details}");
                assert!(message.is_none(), "a by-value handler: {message:?}");
            }
            other => panic!("expected Poison, got {other:?}"),
        }
    }

    fn add(system: &ActorSystem, who: &ActorAddress, by: u32) -> u32 {
        system.ask(who, Add(by), ASK).unwrap()
    }

    conformance! {
        /// After a panic, an `on_panic = restart` actor has a fresh `Default` state, at the same
        /// address.
        fn restart_gives_a_fresh_state_after_a_panic(system) {
            let _quiet = QuietPanics::install();
            let phoenix = system.create_actor::<Phoenix>().unwrap().into_address();
            assert_eq!(add(system, &phoenix, 5), 5);
            assert_eq!(add(system, &phoenix, 1), 6);
            boom_is_poison(system, &phoenix);
            assert_eq!(add(system, &phoenix, 1), 1, "the state was reset");
            assert_eq!(add(system, &phoenix, 2), 3);
            boom_is_poison(system, &phoenix);
            assert_eq!(add(system, &phoenix, 4), 4, "the state was reset again");
            assert_eq!(system.stats().actors, 1);
        }

        /// `restart(max = 2, within = "1h")`: two panics restart the actor, the third stops it
        /// and its parent gets `ChildActorExited`.
        fn a_restart_limit_stops_the_actor_and_tells_its_parent(system) {
            let _quiet = QuietPanics::install();
            let supervisor = system.create_actor::<Supervisor>().unwrap();
            let fragile: ActorAddress = system.ask(&supervisor, SpawnFragile, ASK).unwrap();
            assert_eq!(system.status(&fragile, ASK).unwrap().parent, supervisor);
            assert_eq!(add(system, &fragile, 5), 5);
            for restart in 1..=2 {
                boom_is_poison(system, &fragile);
                assert_eq!(add(system, &fragile, 1), 1, "restart {restart} reset the state");
                assert_eq!(add(system, &fragile, 1), 2);
            }
            assert!(system.ask::<Exited, _, _>(&supervisor, GetExited, ASK).unwrap().0.is_empty());

            boom_is_poison(system, &fragile);
            assert!(gone(system, &fragile), "the third panic stops it");
            assert!(eventually(ASK, || !system.ask::<Exited, _, _>(&supervisor, GetExited, ASK).unwrap().0.is_empty()));
            assert_eq!(system.ask::<Exited, _, _>(&supervisor, GetExited, ASK).unwrap().0, [fragile]);
            assert_eq!(system.stats().actors, 1);
        }

        /// By default (Thespian's behaviour) an actor keeps its state after a panic.
        fn default_actors_keep_their_state_after_a_panic(system) {
            let _quiet = QuietPanics::install();
            let keeper = system.create_actor::<Keeper>().unwrap().into_address();
            assert_eq!(add(system, &keeper, 5), 5);
            for _ in 0..5 {
                boom_is_poison(system, &keeper);
            }
            assert_eq!(add(system, &keeper, 1), 6, "the state survived");
            assert_eq!(system.stats().actors, 1);
        }
    }
}

/// `test_deadLettering.py` (THESPIAN.md 2.3): one dead-letter handler per system, the last
/// registration wins, 'Stop' only by the current handler, the handler's exit reverts to no
/// handler; the `test1x` variants put the handler in a child actor.
mod test_dead_lettering {
    use super::*;

    /// The dead messages a handler received (as text).
    #[derive(Debug, Clone, Default, Serialize, Deserialize, Message)]
    pub struct Letters(pub Vec<String>);

    /// The original's `DLHandler`: "Start"/"Stop" register and deregister it, "Count" counts
    /// the dead letters received.
    #[derive(Default)]
    pub struct DLHandler {
        letters: Vec<String>,
    }

    #[actor]
    impl DLHandler {
        #[handler]
        fn command(&mut self, msg: String, cx: &mut Context<'_>) {
            match msg.as_str() {
                "Start" => cx.handle_dead_letters(true),
                "Stop" => cx.handle_dead_letters(false),
                "Count" => cx.reply(self.letters.len() as u64),
                "Letters" => cx.reply(Letters(self.letters.clone())),
                _ => {}
            }
        }

        #[handler]
        fn dead(&mut self, dead: DeadEnvelope) {
            let text = dead.message.downcast_ref::<String>().cloned();
            self.letters.push(text.unwrap_or_else(|| dead.message.wire_name().to_owned()));
        }
    }

    /// The original's `DLParent`: passes everything down to its `DLHandler` child, and the
    /// child's answers up to whoever asked last; "exit please" stops the child.
    #[derive(Default)]
    pub struct DLParent {
        child: Option<ActorAddress>,
        last_sender: Option<ActorAddress>,
    }

    #[actor]
    impl DLParent {
        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            if msg == "exit please" && cx.sender() != self.child(cx) {
                self.last_sender = Some(cx.sender());
                let child = self.child(cx);
                cx.send(&child, ActorExitRequest::default());
            } else {
                self.pass(msg, cx);
            }
        }

        #[handler]
        fn count(&mut self, n: u64, cx: &mut Context<'_>) {
            self.pass(n, cx);
        }

        #[handler]
        fn letters(&mut self, letters: Letters, cx: &mut Context<'_>) {
            self.pass(letters, cx);
        }
    }

    impl DLParent {
        fn child(&mut self, cx: &mut Context<'_>) -> ActorAddress {
            if self.child.is_none() {
                self.child = Some(cx.create_actor::<DLHandler>().into_address());
            }
            self.child.clone().unwrap_or_else(|| unreachable!())
        }

        fn pass<M: Message>(&mut self, msg: M, cx: &mut Context<'_>) {
            let child = self.child(cx);
            if cx.sender() == child {
                if let Some(up) = self.last_sender.clone() {
                    cx.send(&up, msg);
                }
            } else {
                self.last_sender = Some(cx.sender());
                cx.send(&child, msg);
            }
        }
    }

    /// Which kind of actor plays the handler and the pawn.
    #[derive(Clone, Copy, PartialEq)]
    pub enum Kind {
        /// `DLHandler` itself (tests 0x).
        Direct,
        /// `DLParent` with a `DLHandler` child (tests 1x).
        Child,
    }

    fn create(system: &ActorSystem, kind: Kind) -> ActorAddress {
        match kind {
            Kind::Direct => system.create_actor::<DLHandler>().unwrap().into_address(),
            Kind::Child => system.create_actor::<DLParent>().unwrap().into_address(),
        }
    }

    fn count(system: &ActorSystem, handler: &ActorAddress) -> u64 {
        system.ask(handler, "Count", ASK).unwrap()
    }

    /// Waits for the handler's count to reach `n` exactly, then checks it is not more.
    fn expect_count(system: &ActorSystem, handler: &ActorAddress, n: u64) {
        eventually(ASK, || count(system, handler) >= n);
        assert_eq!(count(system, handler), n, "{handler}");
    }

    /// Tells `pawn` (an actor that has gone) `msg`, and waits until the system has counted the
    /// dead letter, so that it has reached the handler (if any) before anything asked later.
    fn dead_letter(system: &ActorSystem, pawn: &ActorAddress, msg: &str) {
        let before = system.stats().dead_letters;
        system.tell(pawn, msg).unwrap();
        assert!(eventually(ASK, || system.stats().dead_letters > before), "no dead letter for {msg:?}");
    }

    /// Stops `who` and waits until `actors` fewer actors are alive (no probe of the address,
    /// which would itself be a dead letter).
    fn kill(system: &ActorSystem, who: &ActorAddress, actors: usize) {
        let alive = system.stats().actors;
        system.tell(who, ActorExitRequest::default()).unwrap();
        assert!(eventually(ASK, || system.stats().actors == alive - actors), "{:?}", system.stats());
    }

    /// A pawn that has exited, so that messages to it are dead letters.
    fn dead_pawn(system: &ActorSystem, kind: Kind) -> ActorAddress {
        let pawn = create(system, kind);
        kill(system, &pawn, 1);
        pawn
    }

    /// A handler that has registered (and has no dead letters yet).
    fn started(system: &ActorSystem, kind: Kind) -> ActorAddress {
        let handler = create(system, kind);
        assert_eq!(count(system, &handler), 0);
        system.tell(&handler, "Start").unwrap();
        assert_eq!(count(system, &handler), 0);
        handler
    }

    fn register_dead_letter(system: &ActorSystem, kind: Kind) {
        let handler = create(system, kind);
        assert_eq!(count(system, &handler), 0);
        system.tell(&handler, "Start").unwrap();
        assert_eq!(count(system, &handler), 0);
        system.tell(&handler, "Stop").unwrap();
        assert_eq!(count(system, &handler), 0);
        assert_eq!(system.stats().dead_letters, 0);
    }

    fn get_dead_letter(system: &ActorSystem, kind: Kind) {
        let handler = started(system, kind);
        let pawn = match kind {
            Kind::Direct => dead_pawn(system, kind),
            Kind::Child => {
                // The pawn lives on, but its child (to which it passes everything) has gone.
                let pawn = create(system, kind);
                system.tell(&pawn, "exit please").unwrap();
                assert!(eventually(ASK, || {
                    let status = system.status(&pawn, ASK).unwrap();
                    status.processed == 2 && status.children.is_empty()
                }));
                pawn
            }
        };
        dead_letter(system, &pawn, "hello");
        expect_count(system, &handler, 1);
        dead_letter(system, &pawn, "hi");
        expect_count(system, &handler, 2);
        let letters: Letters = system.ask(&handler, "Letters", ASK).unwrap();
        assert_eq!(letters.0, ["hello", "hi"]);

        system.tell(&handler, "Stop").unwrap();
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "another");
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "and another");
        assert_eq!(count(system, &handler), 2);
    }

    fn dl_register_only_once(system: &ActorSystem, kind: Kind) {
        let handler = started(system, kind);
        let pawn = dead_pawn(system, kind);
        dead_letter(system, &pawn, "hello");
        expect_count(system, &handler, 1);
        dead_letter(system, &pawn, "hi");
        expect_count(system, &handler, 2);

        // Another start has no effect: still the handler, and each letter arrives once.
        system.tell(&handler, "Start").unwrap();
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "another");
        expect_count(system, &handler, 3);
        dead_letter(system, &pawn, "and another");
        expect_count(system, &handler, 4);
    }

    fn dl_multiple_handlers(system: &ActorSystem, kind: Kind) {
        let handler = started(system, kind);
        let pawn = dead_pawn(system, kind);
        dead_letter(system, &pawn, "hello");
        expect_count(system, &handler, 1);
        dead_letter(system, &pawn, "hi");
        expect_count(system, &handler, 2);

        // The last registration wins: no broadcast, no round robin.
        let handler2 = started(system, kind);
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "another");
        expect_count(system, &handler2, 1);
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "and another");
        expect_count(system, &handler2, 2);
        assert_eq!(count(system, &handler), 2);

        // 'Stop' from a handler that is not the current one does nothing.
        system.tell(&handler, "Stop").unwrap();
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "more messages");
        expect_count(system, &handler2, 3);
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "more messages again");
        expect_count(system, &handler2, 4);
        assert_eq!(count(system, &handler), 2);

        // The current handler's 'Stop': nobody gets dead letters.
        system.tell(&handler2, "Stop").unwrap();
        assert_eq!(count(system, &handler2), 4);
        dead_letter(system, &pawn, "more messages repeated");
        dead_letter(system, &pawn, "more messages again repeated");
        assert_eq!(count(system, &handler), 2);
        assert_eq!(count(system, &handler2), 4);

        // The first handler registers again and gets them.
        system.tell(&handler, "Start").unwrap();
        assert_eq!(count(system, &handler), 2);
        dead_letter(system, &pawn, "more messages repeated reprised");
        expect_count(system, &handler, 3);
        assert_eq!(count(system, &handler2), 4);
        dead_letter(system, &pawn, "more messages again repeated reprised");
        expect_count(system, &handler, 4);
        assert_eq!(count(system, &handler2), 4);
    }

    fn dl_auto_removal(system: &ActorSystem, kind: Kind) {
        let handler = started(system, kind);
        let handler2 = started(system, kind);
        assert_eq!(count(system, &handler), 0);
        let pawn = dead_pawn(system, kind);

        dead_letter(system, &pawn, "hello");
        expect_count(system, &handler2, 1);
        assert_eq!(count(system, &handler), 0);
        dead_letter(system, &pawn, "hi");
        expect_count(system, &handler2, 2);
        assert_eq!(count(system, &handler), 0);

        // The handler exits: dead letters are only counted again, not handed to anyone.
        kill(system, &handler2, if kind == Kind::Child { 2 } else { 1 });
        assert_eq!(count(system, &handler), 0);
        dead_letter(system, &pawn, "another");
        assert_eq!(count(system, &handler), 0);

        // The first handler must register again to get them.
        system.tell(&handler, "Start").unwrap();
        assert_eq!(count(system, &handler), 0);
        dead_letter(system, &pawn, "another again");
        expect_count(system, &handler, 1);
    }

    /// An orphaning parent: creates a child, and exits without taking it along.
    #[derive(Default)]
    pub struct Orphaner;

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct MakeChild;

    #[actor]
    impl Orphaner {
        #[handler]
        fn make(&mut self, _msg: MakeChild, cx: &mut Context<'_>) -> ActorAddress {
            cx.create_actor::<DLHandler>().into_address()
        }
    }

    conformance! {
        fn test01_register_dead_letter(system) {
            register_dead_letter(system, Kind::Direct);
        }

        fn test11_register_dead_letter_sub_actor(system) {
            register_dead_letter(system, Kind::Child);
        }

        fn test02_get_dead_letter(system) {
            get_dead_letter(system, Kind::Direct);
        }

        fn test12_get_dead_letter_sub_actor(system) {
            get_dead_letter(system, Kind::Child);
        }

        fn test03_dl_register_only_once(system) {
            dl_register_only_once(system, Kind::Direct);
        }

        fn test13_dl_register_only_once(system) {
            dl_register_only_once(system, Kind::Child);
        }

        fn test04_dl_multiple_handlers(system) {
            dl_multiple_handlers(system, Kind::Direct);
        }

        fn test14_dl_multiple_handlers(system) {
            dl_multiple_handlers(system, Kind::Child);
        }

        fn test05_dl_auto_removal(system) {
            dl_auto_removal(system, Kind::Direct);
        }

        fn test15_dl_auto_removal(system) {
            dl_auto_removal(system, Kind::Child);
        }

        /// A dead `ChildActorExited` (the parent went first) and a dead `DeadEnvelope` are
        /// counted, but never handed to the handler (no loops); an ordinary one still is.
        fn no_dead_envelope_for_a_dead_child_actor_exited_or_dead_envelope(system) {
            let handler = started(system, Kind::Direct);
            let orphaner = system.create_actor::<Orphaner>().unwrap().into_address();
            let child: ActorAddress = system.ask(&orphaner, MakeChild, ASK).unwrap();
            let alive = system.stats().actors;
            system.tell(&orphaner, ActorExitRequest { recursive: false }).unwrap();
            assert!(eventually(ASK, || system.stats().actors == alive - 1), "{:?}", system.stats());
            assert!(system.status(&child, ASK).is_ok(), "the child was left behind");
            let before = system.stats().dead_letters;

            // The orphan exits: its ChildActorExited finds no parent.
            system.tell(&child, ActorExitRequest::default()).unwrap();
            assert!(eventually(ASK, || system.stats().dead_letters == before + 1), "{:?}", system.stats());
            // A DeadEnvelope sent to an actor that has gone.
            let envelope = DeadEnvelope { dead_address: child.clone(), message: Box::new("inner".to_owned()) };
            system.tell(&orphaner, envelope).unwrap();
            assert!(eventually(ASK, || system.stats().dead_letters == before + 2), "{:?}", system.stats());
            // An ordinary dead letter still reaches the handler.
            dead_letter(system, &orphaner, "control");
            expect_count(system, &handler, 1);
            let letters: Letters = system.ask(&handler, "Letters", ASK).unwrap();
            assert_eq!(letters.0, ["control"]);
            assert_eq!(system.stats().dead_letters, before + 3);
        }

        /// `stats().dead_letters` counts every dead letter, with or without a handler.
        fn dead_letters_are_counted_with_or_without_a_handler(system) {
            let handler = create(system, Kind::Direct);
            let pawn = dead_pawn(system, Kind::Direct);
            let before = system.stats().dead_letters;
            for msg in ["a", "b", "c"] {
                system.tell(&pawn, msg).unwrap();
            }
            assert!(eventually(ASK, || system.stats().dead_letters == before + 3), "{:?}", system.stats());

            system.tell(&handler, "Start").unwrap();
            assert_eq!(count(system, &handler), 0);
            for msg in ["d", "e"] {
                system.tell(&pawn, msg).unwrap();
            }
            expect_count(system, &handler, 2);
            assert_eq!(system.stats().dead_letters, before + 5);

            system.tell(&handler, "Stop").unwrap();
            assert_eq!(count(system, &handler), 2);
            system.tell(&pawn, "f").unwrap();
            // An ask of an actor that has gone is a dead letter too.
            assert!(matches!(system.ask_any(&pawn, "g", ASK), Err(Error::DeadTarget(_))));
            assert!(eventually(ASK, || system.stats().dead_letters == before + 7), "{:?}", system.stats());
            assert_eq!(count(system, &handler), 2);
            assert_eq!(system.stats().dead_letters, before + 7);
        }
    }
}

/// A gate a `Threaded` test closes on an actor: the actor's `Hold` handler (an `async fn`, so
/// no worker thread is blocked) waits until the test opens it, so its mailbox fills up
/// deterministically. `Simple` runs every actor in the caller's thread, so nothing may wait
/// there: on `Simple` the gate is never used (see [`mailbox_bound::hold`]).
mod gate {
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context as TaskContext, Poll, Waker};

    #[derive(Default)]
    struct State {
        open: bool,
        entered: bool,
        wakers: Vec<Waker>,
    }

    type Shared = Arc<Mutex<State>>;

    static GATES: Mutex<BTreeMap<u64, Shared>> = Mutex::new(BTreeMap::new());
    static NEXT: AtomicU64 = AtomicU64::new(1);

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closed until opened or dropped.
    pub struct Gate {
        id: u64,
        state: Shared,
    }

    impl Gate {
        pub fn new() -> Self {
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            let state = Shared::default();
            lock(&GATES).insert(id, state.clone());
            Gate { id, state }
        }

        pub fn id(&self) -> u64 {
            self.id
        }

        /// Whether an actor has started waiting at the gate.
        pub fn entered(&self) -> bool {
            lock(&self.state).entered
        }

        pub fn open(&self) {
            let wakers = {
                let mut state = lock(&self.state);
                state.open = true;
                std::mem::take(&mut state.wakers)
            };
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    impl Drop for Gate {
        fn drop(&mut self) {
            self.open();
            lock(&GATES).remove(&self.id);
        }
    }

    /// Waits until gate `id` opens (a gate that no longer exists is open).
    pub fn wait(id: u64) -> impl Future<Output = ()> + Send + 'static {
        WaitOpen { state: lock(&GATES).get(&id).cloned() }
    }

    struct WaitOpen {
        state: Option<Shared>,
    }

    impl Future for WaitOpen {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
            let Some(state) = &self.state else { return Poll::Ready(()) };
            let mut state = lock(state);
            state.entered = true;
            if state.open {
                Poll::Ready(())
            } else {
                state.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Bounded mailboxes (`ActorOptions::mailbox(cap, Overflow::Reject | Block)`): a message is
/// never dropped silently. Outside senders are refused (Reject, with the message back) or wait
/// (Block); an actor sending to a full mailbox never waits and gets its message back as a
/// `PoisonMessage`; an ask to a full mailbox fails with `MailboxFull`.
///
/// Filling a mailbox deterministically: an actor (the `Filler`) sends the messages in one
/// handler, and an `ask` of it returns as soon as it replies. On `Simple` nothing else runs in
/// between (the base runs actors only inside `tell`/`ask`/`listen`, and an ask stops at its
/// reply), so the target's mailbox stays full until the next call that runs the system. On
/// `Threaded` the target is first held at a [`gate::Gate`], so it takes nothing from its mailbox
/// until the gate opens.
mod mailbox_bound {
    use super::gate::{self, Gate};
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Message)]
    pub struct Item(pub u32);

    /// Waits at gate `.0` (Threaded only).
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Hold(pub u64);

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct GetLog;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Message)]
    pub struct Seen(pub Vec<u32>);

    /// The actor with the bounded mailbox: logs the items it handles, in order.
    #[derive(Default)]
    pub struct Bounded {
        log: Vec<u32>,
    }

    #[actor]
    impl Bounded {
        #[handler]
        fn item(&mut self, Item(n): Item) {
            self.log.push(n);
        }

        #[handler]
        fn get(&mut self, _msg: GetLog) -> Seen {
            Seen(self.log.clone())
        }

        #[handler]
        async fn hold(&mut self, Hold(id): Hold) {
            gate::wait(id).await;
        }
    }

    /// Sends `items` to `to` in one handler, replying how many it sent.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct Fill {
        to: ActorAddress,
        items: Vec<u32>,
    }

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct GetReturned;

    /// What came back to the filler: the items, and who sent each poison.
    #[derive(Debug, Clone, Default, Serialize, Deserialize, Message)]
    pub struct Returned {
        items: Vec<u32>,
        from: Vec<ActorAddress>,
        whole: bool,
    }

    #[derive(Default)]
    pub struct Filler {
        returned: Returned,
    }

    #[actor]
    impl Filler {
        #[handler]
        fn fill(&mut self, fill: Fill, cx: &mut Context<'_>) -> u64 {
            for &n in &fill.items {
                cx.send(&fill.to, Item(n));
            }
            fill.items.len() as u64
        }

        #[handler]
        fn poisoned(&mut self, p: PoisonMessage, cx: &mut Context<'_>) {
            let item = carried::<Item>(&p.message).unwrap_or_else(|| panic!("the poison carries the item: {p:?}"));
            self.returned.items.push(item.0);
            self.returned.from.push(cx.sender());
            self.returned.whole = p.message_type.ends_with("Item") && p.details.contains("full");
        }

        #[handler]
        fn get(&mut self, _msg: GetReturned) -> Returned {
            self.returned.clone()
        }
    }

    /// On `Threaded`, holds `target` at a new gate (its mailbox now only fills); on `Simple` the
    /// gate is not needed (and the target must not wait: it would stop the whole system).
    pub fn hold(system: &ActorSystem, target: &ActorAddress) -> Gate {
        let gate = Gate::new();
        if system.base() != SystemBase::Simple {
            system.tell(target, Hold(gate.id())).unwrap();
            assert!(eventually(ASK, || gate.entered()), "the target never reached the gate");
        }
        gate
    }

    fn bounded(system: &ActorSystem, capacity: usize, overflow: Overflow) -> ActorAddress {
        system.create_actor_with::<Bounded>(ActorOptions::new().mailbox(capacity, overflow)).unwrap().into_address()
    }

    /// Fills `target`'s mailbox with `items` through a filler. Returns the filler, to be asked
    /// later what came back (asking it now would, on `Simple`, run the target too).
    fn fill(system: &ActorSystem, target: &ActorAddress, items: Vec<u32>) -> Addr<Filler> {
        let filler = system.create_actor::<Filler>().unwrap();
        let n = items.len() as u64;
        assert_eq!(system.ask::<u64, _, _>(&filler, Fill { to: target.clone(), items }, ASK).unwrap(), n);
        filler
    }

    /// Nothing came back to the filler.
    fn nothing_returned(system: &ActorSystem, filler: &Addr<Filler>) {
        let returned: Returned = system.ask(filler, GetReturned, ASK).unwrap();
        assert!(returned.items.is_empty(), "{returned:?}");
    }

    /// What the target has handled. Right after its gate opens its mailbox may still be full, and
    /// then the ask is refused (with the message back): ask again.
    fn log(system: &ActorSystem, target: &ActorAddress) -> Vec<u32> {
        let mut seen = None;
        eventually(ASK, || match system.ask::<Seen, _, _>(target, GetLog, ASK) {
            Ok(Seen(log)) => {
                seen = Some(log);
                true
            }
            Err(Error::MailboxFull { .. }) => false,
            Err(e) => panic!("{e}"),
        });
        seen.expect("the target's mailbox drains once its gate is open")
    }

    /// The message given back by a `MailboxFull` error, checked against the target and bound.
    fn refused_message(err: Error, target: &ActorAddress, bound: usize) -> Box<dyn Message> {
        match err {
            Error::MailboxFull { address, capacity, message } => {
                assert_eq!(&address, target);
                assert_eq!(capacity, bound);
                message
            }
            other => panic!("expected MailboxFull, got {other:?}"),
        }
    }

    /// The item given back by a `MailboxFull` error.
    fn refused(err: Error, target: &ActorAddress, bound: usize) -> Item {
        let message = refused_message(err, target, bound);
        *message.downcast::<Item>().unwrap_or_else(|m| panic!("the refused message comes back: {m:?}"))
    }

    /// Asks a target whose mailbox was full for its log: on `Threaded` (held at its gate, with
    /// a full mailbox) the ask is refused at once with `MailboxFull`, giving the message back.
    /// On `Simple` the mailbox is full too, but whether an outside call refuses or first lets
    /// the target run is the base's choice; if it ran, the log is `handled`.
    fn ask_while_full(system: &ActorSystem, target: &ActorAddress, bound: usize, handled: &[u32]) {
        match system.ask::<Seen, _, _>(target, GetLog, ASK) {
            Err(err) => {
                let message = refused_message(err, target, bound);
                assert!(message.is::<GetLog>(), "{message:?}");
            }
            Ok(Seen(log)) => {
                assert_eq!(system.base(), SystemBase::Simple, "an ask got into a full mailbox");
                assert_eq!(log, handled);
            }
        }
    }

    conformance! {
        /// At the bound, an outside `tell` with Reject fails with `MailboxFull` carrying the
        /// message, and so does an `ask`; nothing is lost: every accepted message is handled, in
        /// order, and every refused one is returned. A refused sender that tries again later
        /// gets in.
        fn reject_at_the_bound_gives_the_message_back_and_loses_nothing(system) [skip_multiproc = "the target is held at a gate that the test opens from its own process"] {
            let target = bounded(system, 4, Overflow::Reject);
            let gate = hold(system, &target);
            let filler = fill(system, &target, vec![0, 1, 2, 3]);

            // The mailbox is full. On Threaded the target is held, so every tell is refused; on
            // Simple it is full too (the filler's ask returned at its reply, before the target
            // ran), and whether an outside call refuses or first runs the target is the base's
            // choice: either way each message is accepted or given back.
            let (mut accepted, mut returned) = (vec![0, 1, 2, 3], Vec::new());
            for n in 100..103 {
                match system.tell(&target, Item(n)) {
                    Ok(()) => accepted.push(n),
                    Err(err) => returned.push(refused(err, &target, 4).0),
                }
            }
            if system.base() != SystemBase::Simple {
                assert_eq!(returned, [100, 101, 102]);
            }
            ask_while_full(system, &target, 4, &accepted);

            gate.open();
            assert_eq!(log(system, &target), accepted, "returned: {returned:?}");
            nothing_returned(system, &filler);
            // The mailbox is empty now: a burst is accepted until the bound, whatever the
            // target manages to handle meanwhile; every refused message comes back.
            let mut burst_accepted = 0;
            for n in 200..230 {
                match system.tell(&target, Item(n)) {
                    Ok(()) => {
                        accepted.push(n);
                        burst_accepted += 1;
                    }
                    Err(err) => returned.push(refused(err, &target, 4).0),
                }
            }
            assert!(burst_accepted >= 4, "{accepted:?}");
            assert_eq!(accepted.len() + returned.len(), 4 + 3 + 30);
            assert_eq!(log(system, &target), accepted, "returned: {returned:?}");
            assert_eq!(system.stats().dead_letters, 0);
        }

        /// An actor sending past the bound gets each message that did not fit back as a
        /// `PoisonMessage` carrying it, from the target, under either policy (an actor never
        /// waits); the ones that fit are handled in order.
        fn an_actor_sending_past_the_bound_gets_poison_with_the_message(system) [skip_multiproc = "the target is held at a gate that the test opens from its own process"] {
            for overflow in [Overflow::Reject, Overflow::Block] {
                let target = bounded(system, 3, overflow);
                let gate = hold(system, &target);
                let filler = system.create_actor::<Filler>().unwrap();
                let sent: u64 =
                    system.ask(&filler, Fill { to: target.clone(), items: (0..10).collect() }, ASK).unwrap();
                assert_eq!(sent, 10);
                // The bounces were queued for the filler before its reply to the ask.
                let returned: Returned = system.ask(&filler, GetReturned, ASK).unwrap();
                assert_eq!(returned.items, (3..10).collect::<Vec<_>>(), "{overflow:?}");
                assert!(returned.from.iter().all(|a| *a == target), "{returned:?}");
                assert!(returned.whole, "{returned:?}");
                gate.open();
                assert_eq!(log(system, &target), [0, 1, 2], "{overflow:?}");
            }
            assert_eq!(system.stats().dead_letters, 0);
        }

        /// With Block, an outside sender on another thread waits while the mailbox is full, and
        /// all its messages arrive, in order. An ask still fails at once with `MailboxFull`.
        fn block_makes_an_outside_sender_wait_and_keeps_its_order(system) [skip_multiproc = "the target is held at a gate that the test opens from its own process"] {
            let target = bounded(system, 2, Overflow::Block);
            let gate = hold(system, &target);
            let filler = fill(system, &target, vec![0, 1]);
            ask_while_full(system, &target, 2, &[0, 1]);

            let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let sender = {
                let (system, target, sent) = (system.clone(), target.clone(), sent.clone());
                std::thread::spawn(move || {
                    for n in 10..20 {
                        system.tell(&target, Item(n)).unwrap();
                        sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            };
            if system.base() != SystemBase::Simple {
                // Held at the gate with a full mailbox, the target takes nothing: not one of the
                // sender's messages can have been accepted. (The pause only gives a broken
                // runtime the chance to show it; nothing here depends on its length.)
                std::thread::sleep(Duration::from_millis(50));
                assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 0, "a Block sender got past a full mailbox");
            }
            gate.open();
            sender.join().expect("every tell succeeded");
            assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 10);
            let mut expected = vec![0, 1];
            expected.extend(10..20);
            assert_eq!(log(system, &target), expected);
            nothing_returned(system, &filler);
        }
    }
}

/// Bad input: a flood of messages that always make a handler panic.
mod bad_input {
    use super::*;

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Bad(pub u32);

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Good(pub u32);

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct BadSeen;

    #[derive(Default)]
    pub struct Victim {
        bad: u64,
    }

    #[actor]
    impl Victim {
        #[handler]
        fn bad(&mut self, _msg: Bad) {
            self.bad += 1;
            panic!("{DELIBERATE}: bad input");
        }

        #[handler]
        fn good(&mut self, Good(n): Good) -> u32 {
            n
        }

        #[handler]
        fn seen(&mut self, _msg: BadSeen) -> u64 {
            self.bad
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    pub struct Pester {
        to: ActorAddress,
        count: u32,
    }

    #[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
    pub struct Poisons;

    /// Sends bad messages in bursts and counts the poisons that come back.
    #[derive(Default)]
    pub struct Pest {
        poisons: u64,
    }

    #[actor]
    impl Pest {
        #[handler]
        fn pester(&mut self, pester: Pester, cx: &mut Context<'_>) -> u32 {
            for n in 0..pester.count {
                cx.send(&pester.to, Bad(n));
            }
            pester.count
        }

        #[handler]
        fn poisoned(&mut self, p: PoisonMessage) {
            assert!(p.message.is_none(), "a by-value handler's poison has no message: {p:?}");
            self.poisons += 1;
        }

        #[handler]
        fn poisons(&mut self, _msg: Poisons) -> u64 {
            self.poisons
        }
    }

    const BURSTS: u32 = 10;
    const BURST: u32 = 1_000;

    conformance! {
        /// 10 000 messages that make the handler panic: the actor keeps serving other
        /// messages, and nothing accumulates (no extra actors, no queued mail, no pending
        /// poisons, no dead letters, nothing left for the external endpoint).
        fn ten_thousand_panicking_messages_leave_the_actor_serving_and_nothing_piling_up(system) {
            let _quiet = QuietPanics::install();
            let victim = system.create_actor::<Victim>().unwrap().into_address();
            let pest = system.create_actor::<Pest>().unwrap().into_address();
            for burst in 1..=BURSTS {
                let sent: u32 = system.ask(&pest, Pester { to: victim.clone(), count: BURST }, ASK).unwrap();
                assert_eq!(sent, BURST);
                let expected = u64::from(burst * BURST);
                assert!(eventually(ASK, || system.ask::<u64, _, _>(&pest, Poisons, ASK).unwrap() >= expected));
                assert_eq!(system.ask::<u64, _, _>(&pest, Poisons, ASK).unwrap(), expected, "one poison each");
                assert_eq!(system.ask::<u32, _, _>(&victim, Good(burst), ASK).unwrap(), burst, "still serving");

                let v = system.status(&victim, ASK).unwrap();
                assert_eq!(v.mailbox_len, 0, "burst {burst}: {v:?}");
                assert_eq!(v.processed, u64::from(burst * (BURST + 1)), "burst {burst}: one delivery each: {v:?}");
                let p = system.status(&pest, ASK).unwrap();
                assert_eq!(p.mailbox_len, 0, "burst {burst}: no poison pending: {p:?}");
                let stats = system.stats();
                assert_eq!((stats.actors, stats.dead_letters, stats.unhandled), (2, 0, 0), "burst {burst}: {stats:?}");
            }
            assert_eq!(system.ask::<u64, _, _>(&victim, BadSeen, ASK).unwrap(), u64::from(BURSTS * BURST), "state kept");
            let err = system.listen(Duration::from_millis(20)).unwrap_err();
            assert!(matches!(err, Error::Timeout(_)), "nothing was sent to the external endpoint: {err:?}");
        }
    }
}
