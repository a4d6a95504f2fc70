//! The remote sink's framing: the handshake, and the header before each message's payload
//! (`pkg/sentry/seccheck/sinks/remote/wire`).

use prost::Message;

use crate::proto::Handshake;

/// The protocol versions haechi reads: 1 (Debian's runsc 0.0~20221219) and 2, whose messages
/// are framed the same way.
pub const VERSIONS: std::ops::RangeInclusive<u32> = 1..=2;

/// The version haechi announces: the oldest it reads, so that every Sentry that speaks one of
/// [`VERSIONS`] carries on.
pub const VERSION: u32 = 1;

/// Size of the header's fixed part; the header says its own size so it can grow.
pub const HEADER_SIZE: usize = 8;

/// Largest message accepted: the Sentry writes each point as one datagram, and a point with a
/// full argv and environment stays far below this.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Why a handshake or message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The handshake is not a `Handshake` protobuf.
    #[error("handshake is not a gVisor Handshake message: {0}")]
    BadHandshake(String),
    /// The Sentry speaks a version haechi cannot read.
    #[error(
        "sandbox speaks remote-sink protocol version {0}; haechi reads versions {min} to {max}",
        min = VERSIONS.start(),
        max = VERSIONS.end()
    )]
    Version(u32),
    /// The message is shorter than a header.
    #[error("message of {0} bytes is shorter than the 8-byte header")]
    Short(usize),
    /// The header claims more bytes than the message has, or fewer than its fixed part.
    #[error("header claims {claimed} bytes in a message of {got}")]
    HeaderSize {
        /// The header's size field.
        claimed: usize,
        /// The message's length.
        got: usize,
    },
}

/// Reads the Sentry's handshake; the version when haechi can read it.
pub fn read_handshake(bytes: &[u8]) -> Result<u32, WireError> {
    let handshake =
        Handshake::decode(bytes).map_err(|err| WireError::BadHandshake(err.to_string()))?;
    if VERSIONS.contains(&handshake.version) {
        Ok(handshake.version)
    } else {
        Err(WireError::Version(handshake.version))
    }
}

/// haechi's side of the handshake.
pub fn handshake() -> Vec<u8> {
    Handshake { version: VERSION }.encode_to_vec()
}

/// The header of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the payload is (`gvisor.common.MessageType`).
    pub message_type: u16,
    /// Points the Sentry has dropped on this connection so far (wraps at `u32::MAX`).
    pub dropped: u32,
}

/// Splits one message into its header and payload.
pub fn split(message: &[u8]) -> Result<(Header, &[u8]), WireError> {
    let fixed = message
        .get(..HEADER_SIZE)
        .ok_or(WireError::Short(message.len()))?;
    let size = usize::from(u16::from_le_bytes([fixed[0], fixed[1]]));
    if size < HEADER_SIZE || size > message.len() {
        return Err(WireError::HeaderSize {
            claimed: size,
            got: message.len(),
        });
    }
    let header = Header {
        message_type: u16::from_le_bytes([fixed[2], fixed[3]]),
        dropped: u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
    };
    Ok((header, &message[size..]))
}

/// Builds a message as the Sentry does (tests, benchmarks and fuzz seeds).
pub fn frame(message_type: u16, dropped: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
    out.extend_from_slice(&(HEADER_SIZE as u16).to_le_bytes());
    out.extend_from_slice(&message_type.to_le_bytes());
    out.extend_from_slice(&dropped.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The message types haechi decodes (`gvisor.common.MessageType`).
pub mod kind {
    /// `MESSAGE_CONTAINER_START`.
    pub const CONTAINER_START: u16 = 1;
    /// `MESSAGE_SENTRY_CLONE`.
    pub const SENTRY_CLONE: u16 = 2;
    /// `MESSAGE_SENTRY_EXEC`.
    pub const SENTRY_EXEC: u16 = 3;
    /// `MESSAGE_SENTRY_TASK_EXIT`.
    pub const SENTRY_TASK_EXIT: u16 = 5;
    /// `MESSAGE_SYSCALL_OPEN`.
    pub const SYSCALL_OPEN: u16 = 7;
    /// `MESSAGE_SYSCALL_CONNECT`.
    pub const SYSCALL_CONNECT: u16 = 10;
    /// `MESSAGE_SYSCALL_SOCKET`.
    pub const SYSCALL_SOCKET: u16 = 12;
    /// `MESSAGE_SYSCALL_SETID`.
    pub const SYSCALL_SETID: u16 = 14;
    /// `MESSAGE_SYSCALL_SETRESID`.
    pub const SYSCALL_SETRESID: u16 = 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_versions() {
        assert_eq!(handshake(), [0x08, 0x01]);
        assert_eq!(read_handshake(&[0x08, 0x01]), Ok(1));
        assert_eq!(read_handshake(&[0x08, 0x02]), Ok(2));
        assert_eq!(read_handshake(&[0x08, 0x07]), Err(WireError::Version(7)));
        // An empty message is version 0 in proto3.
        assert_eq!(read_handshake(&[]), Err(WireError::Version(0)));
        assert!(matches!(
            read_handshake(&[0x0a, 0x05, 1]),
            Err(WireError::BadHandshake(_))
        ));
    }

    #[test]
    fn splits_headers_and_honours_a_longer_header() {
        let message = frame(7, 3, b"payload");
        let (header, payload) = split(&message).unwrap();
        assert_eq!(header.message_type, 7);
        assert_eq!(header.dropped, 3);
        assert_eq!(payload, b"payload");
        let mut longer = message.clone();
        longer[0] = 10;
        assert_eq!(split(&longer).unwrap().1, b"yload");
        assert_eq!(split(&message[..5]), Err(WireError::Short(5)));
        let mut liar = message;
        liar[0] = 200;
        assert!(matches!(split(&liar), Err(WireError::HeaderSize { .. })));
    }
}
