//! The listener against real SEQPACKET clients playing a Sentry: a good sandbox keeps streaming
//! while others send a wrong handshake, garbage, truncated messages or hang up mid-stream.

use std::path::Path;
use std::time::Duration;

use haechi_events::Event;
use haechi_gvisor::proto::{self, ContextData};
use haechi_gvisor::wire::{self, kind};
use haechi_gvisor::{Listener, Received};
use prost::Message;
use socket2::{Domain, SockAddr, Socket, Type};

/// A client that connects as the Sentry does, blocking.
fn connect(path: &Path) -> Socket {
    let socket = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
    socket.connect(&SockAddr::unix(path).unwrap()).unwrap();
    socket
}

fn send(socket: &Socket, bytes: &[u8]) {
    assert_eq!(socket.send(bytes).unwrap(), bytes.len());
}

/// Sends the handshake with `version` and returns the server's answer (`None`: it closed).
fn handshake(socket: &Socket, version: u8) -> Option<u32> {
    send(socket, &[0x08, version]);
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [std::mem::MaybeUninit::new(0u8); 64];
    let n = socket.recv(&mut buf).ok()?;
    let bytes: Vec<u8> = buf[..n]
        .iter()
        .map(|b| unsafe { b.assume_init() })
        .collect();
    (n > 0).then(|| proto::Handshake::decode(&bytes[..]).unwrap().version)
}

fn open(container: &str, pid: i32, path: &str, dropped: u32) -> Vec<u8> {
    let open = proto::Open {
        context_data: Some(ContextData {
            time_ns: 1,
            thread_id: pid,
            thread_group_id: pid,
            container_id: container.into(),
            process_name: "cat".into(),
            cwd: "/".into(),
            ..Default::default()
        }),
        exit: Some(proto::Exit {
            result: 3,
            errorno: 0,
        }),
        sysno: libc::SYS_openat as u64,
        fd: i64::from(libc::AT_FDCWD),
        pathname: path.into(),
        ..Default::default()
    };
    wire::frame(kind::SYSCALL_OPEN, dropped, &open.encode_to_vec())
}

async fn next_event(listener: &mut Listener) -> (String, String) {
    loop {
        let received = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("an event within 10 s")
            .expect("the listener runs");
        if let Received::Event(e) = received {
            let Event::Syscall(s) = e.event else {
                panic!("not a syscall")
            };
            return (e.container_id, s.strings[0].clone().unwrap());
        }
    }
}

async fn wait_for(listener: &Listener, what: impl Fn(&haechi_gvisor::Stats) -> bool) {
    for _ in 0..200 {
        if what(&listener.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stats never got there: {:?}", listener.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sandboxes_are_counted_and_good_ones_keep_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gvisor.sock");
    let mut listener = Listener::bind(&path, 64).unwrap();

    let good = connect(&path);
    assert_eq!(handshake(&good, 1), Some(wire::VERSION));
    send(&good, &open("good", 4, "/etc/shadow", 0));
    assert_eq!(
        next_event(&mut listener).await,
        ("good".into(), "/etc/shadow".into())
    );

    // A version haechi cannot read: refused, the connection closed.
    let future = connect(&path);
    assert_eq!(handshake(&future, 9), None);
    wait_for(&listener, |s| s.refused == 1).await;

    // Garbage where the handshake goes.
    let garbage = connect(&path);
    send(&garbage, &[0x0a, 0x7f, 0x01]);
    wait_for(&listener, |s| s.refused == 2).await;

    // After a good handshake: a message shorter than a header, a header that claims more than
    // the message, a payload that is not protobuf, an unknown type, then a hang-up mid-stream.
    let broken = connect(&path);
    assert_eq!(handshake(&broken, 2), Some(wire::VERSION));
    send(&broken, &[8, 0, 7]);
    let mut liar = open("broken", 5, "/x", 0);
    liar[0] = 250;
    send(&broken, &liar);
    send(&broken, &wire::frame(kind::SYSCALL_OPEN, 0, &[0xff; 12]));
    send(&broken, &wire::frame(4242, 0, b"from the future"));
    send(&broken, &open("broken", 5, "/etc/hostname", 0));
    let mut truncated = open("broken", 5, "/etc/passwd", 0);
    truncated.truncate(truncated.len() - 4);
    send(&broken, &truncated);
    drop(broken);
    assert_eq!(
        next_event(&mut listener).await,
        ("broken".into(), "/etc/hostname".into())
    );
    wait_for(&listener, |s| s.malformed == 4 && s.unknown == 1).await;
    // Its containers are reported closed.
    match listener.recv().await.unwrap() {
        Received::Closed { containers } => assert_eq!(containers, ["broken"]),
        Received::Event(e) => panic!("unexpected event from {}", e.container_id),
    }

    // The good sandbox is still streaming; its drop count is added up from the header.
    send(&good, &open("good", 4, "/etc/sudoers", 5));
    assert_eq!(
        next_event(&mut listener).await,
        ("good".into(), "/etc/sudoers".into())
    );
    send(&good, &open("good", 4, "/etc/group", 7));
    next_event(&mut listener).await;
    let stats = listener.stats();
    assert_eq!(stats.dropped, 7);
    assert_eq!(stats.connections, 4);
    assert_eq!(stats.events, 4);
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_other_files_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gvisor.sock");
    drop(Listener::bind(&path, 1).unwrap());
    // Dropping removes it; a socket left by a killed agent is replaced.
    assert!(!path.exists());
    let stale = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
    stale.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    drop(stale);
    let listener = Listener::bind(&path, 1).unwrap();
    drop(listener);
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let err = Listener::bind(&file, 1).err().unwrap();
    assert!(err.to_string().contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}
