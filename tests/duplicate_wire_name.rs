//! Two message types that claim one wire name: no system starts, and the error names both.

use thespian::prelude::*;

mod first {
    use thespian::prelude::*;
    #[derive(Debug, Serialize, Deserialize, Message)]
    #[message(name = "clash.Name")]
    pub struct Clash;
}

mod second {
    use thespian::prelude::*;
    #[derive(Debug, Serialize, Deserialize, Message)]
    #[message(name = "clash.Name")]
    pub struct Clash(pub u8);
}

#[test]
fn a_duplicate_wire_name_stops_every_base_from_starting() {
    let _ = (first::Clash, second::Clash(0));
    for base in [SystemBase::Simple, SystemBase::Threaded] {
        let err = ActorSystem::with_base(base).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::DuplicateWireName(_)), "{err:?}");
        assert!(text.contains("clash.Name"), "{text}");
        assert!(text.contains("first::Clash") && text.contains("second::Clash"), "both types are named: {text}");
    }
}
