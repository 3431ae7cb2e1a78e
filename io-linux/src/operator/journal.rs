//! Logs that read well in journald.
//!
//! Under systemd (`vigild -n` as the unit runs it) stderr is a stream to journald, which stamps
//! every line with its own time and host and files it under a priority. vigild then writes each
//! line as `<N>message`: no timestamp of its own (it would appear twice in `journalctl`), no
//! level word, and the syslog priority N that journald parses from the line's start
//! (`SyslogLevelPrefix=`, on by default): 3 error, 4 warning, 6 info, 7 debug. So
//! `journalctl -u vigild -p warning` shows the warnings and errors only.
//!
//! journald is recognised as systemd documents it: `$JOURNAL_STREAM` holds the device and inode
//! of the stream, and they are those of stderr (a program started from a unit whose stderr was
//! redirected elsewhere keeps the variable but not the stream).

use std::fmt;
use std::os::fd::AsFd;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::sys;

/// Whether stderr is a stream to journald (`$JOURNAL_STREAM` names it).
pub fn stderr_is_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let stderr = std::io::stderr();
    let Ok((dev, ino)) = sys::device_and_inode(stderr.as_fd()) else {
        return false;
    };
    names_stream(&v, dev, ino)
}

/// Whether a `$JOURNAL_STREAM` value (`DEVICE:INODE`, decimal) names the stream with this
/// device and inode.
pub fn names_stream(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse::<u64>() == Ok(dev) && i.parse::<u64>() == Ok(ino)
}

/// The syslog priority journald files a line of this level under.
pub const fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// `<N>message`: the event formatter for journald (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct JournalFormat;

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_carry_the_syslog_priority_and_no_timestamp() {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_writer(move || w.clone())
            .event_format(JournalFormat)
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::info!("(VI_1) BACKUP -> MASTER: master-down-timer (priority 100)");
            tracing::warn!("eth1: no IPv4 source address");
            tracing::error!("reload refused");
            tracing::debug!("advert sent");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "<6>(VI_1) BACKUP -> MASTER: master-down-timer (priority 100)\n\
             <4>eth1: no IPv4 source address\n\
             <3>reload refused\n\
             <7>advert sent\n"
        );
    }

    #[test]
    fn journal_stream_must_name_the_stream() {
        assert!(names_stream("64769:123456", 64769, 123456));
        assert!(!names_stream("64769:123456", 64769, 123457));
        assert!(!names_stream("64769", 64769, 123456));
        assert!(!names_stream("x:y", 0, 0));
        assert!(!names_stream("", 0, 0));
    }
}
