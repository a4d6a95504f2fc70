//! What the three loaders (observe, enforce, record) share: typed access to an object's maps,
//! attaching raw tracepoint programs, and a ring buffer registered with tokio's reactor.

use aya::Ebpf;
use aya::maps::{MapData, RingBuf};
use aya::programs::RawTracePoint;
use tokio::io::unix::AsyncFd;

use crate::error::{SensorError, map_error};

/// The map `name`, typed.
pub(crate) fn typed<'a, V>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<V, SensorError>
where
    V: TryFrom<&'a mut aya::maps::Map>,
    V::Error: std::fmt::Display,
{
    let map = ebpf.map_mut(name).ok_or(map_error(name, "missing"))?;
    V::try_from(map).map_err(|e| map_error(name, e))
}

/// Loads each program of `hooks` (program name, raw tracepoint) and attaches it, in order; the
/// links live as long as `ebpf`.
pub(crate) fn attach_raw_tracepoints(
    ebpf: &mut Ebpf,
    hooks: &[(&'static str, &'static str)],
) -> Result<(), SensorError> {
    for &(program, hook) in hooks {
        let mut attach = || -> Result<(), aya::programs::ProgramError> {
            let prog: &mut RawTracePoint = ebpf
                .program_mut(program)
                .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
                .try_into()?;
            prog.load()?;
            prog.attach(hook)?;
            Ok(())
        };
        attach().map_err(|source| SensorError::Program {
            program,
            hook,
            source,
        })?;
    }
    Ok(())
}

/// Takes the ring buffer `name` out of `ebpf` and registers it with tokio's reactor, for
/// readiness only.
pub(crate) fn ring(
    ebpf: &mut Ebpf,
    name: &'static str,
) -> Result<AsyncFd<RingBuf<MapData>>, SensorError> {
    let map = ebpf.take_map(name).ok_or(map_error(name, "missing"))?;
    let ring = RingBuf::try_from(map).map_err(|e| map_error(name, e))?;
    // SAFETY: the RingBuf owns its map fd; it stays open and unchanged for as long as the
    // AsyncFd (which owns the RingBuf) lives.
    let fd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) };
    Ok(fd.map_err(|e| e.into_parts().1)?)
}
