//! A writer whose writing happens on a thread of its own. A CSV export reads
//! the database and formats rows on one core; hashing the bytes and writing
//! the file then run on the other instead of after each row.

use std::io::{self, Write};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes handed to the thread at a time.
const CHUNK: usize = 256 * 1024;
/// Chunks on their way at most: when the disk is slower than the database the
/// producer waits, so memory stays flat (8 MB).
const IN_FLIGHT: usize = 32;

pub struct WriterThread<W: Write + Send + 'static> {
    buffer: Vec<u8>,
    /// `None` once finished.
    chunks: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<io::Result<W>>>,
}

impl<W: Write + Send + 'static> WriterThread<W> {
    pub fn spawn(mut inner: W) -> io::Result<WriterThread<W>> {
        let (chunks, received) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let thread = std::thread::Builder::new().name("export-writer".into()).spawn(move || {
            for chunk in received {
                inner.write_all(&chunk)?;
            }
            inner.flush()?;
            Ok(inner)
        })?;
        Ok(WriterThread { buffer: Vec::with_capacity(CHUNK), chunks: Some(chunks), thread: Some(thread) })
    }

    /// Hands over what is buffered, waits for the thread to write it all and
    /// returns the inner writer (or the first error it met).
    pub fn finish(mut self) -> io::Result<W> {
        self.send()?;
        self.chunks = None;
        self.join()
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        let sent = self.chunks.as_ref().is_some_and(|chunks| chunks.send(chunk).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped early: its error is the one to report.
        self.chunks = None;
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the export writer stopped")),
        }
    }

    fn join(&mut self) -> io::Result<W> {
        let thread = self.thread.take().ok_or_else(|| io::Error::other("the export writer already stopped"))?;
        thread.join().unwrap_or_else(|_| Err(io::Error::other("the export writer thread panicked")))
    }
}

impl<W: Write + Send + 'static> Write for WriterThread<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    /// Buffered bytes go at [`WriterThread::finish`]: flushing chunks early
    /// would only make them smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for WriterThread<W> {
    /// An export that failed midway still ends its thread.
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_arrives_in_order() {
        let mut writer = WriterThread::spawn(Vec::new()).unwrap();
        let mut expected = Vec::new();
        for i in 0..200_000u32 {
            let line = format!("{i},row\n");
            writer.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        assert_eq!(writer.finish().unwrap(), expected);
    }

    /// Fails after `limit` bytes, like a full disk.
    #[derive(Debug)]
    struct FullDisk {
        limit: usize,
        written: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written + buf.len() > self.limit {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.written += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_threads_error_reaches_the_producer() {
        let mut writer = WriterThread::spawn(FullDisk { limit: CHUNK * 3, written: 0 }).unwrap();
        let row = [b'x'; 1000];
        let error = (0..100_000).find_map(|_| writer.write_all(&row).err()).expect("the write fails");
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn an_error_in_the_last_chunk_is_returned_by_finish() {
        let mut writer = WriterThread::spawn(FullDisk { limit: 10, written: 0 }).unwrap();
        writer.write_all(b"more than ten bytes").unwrap();
        assert_eq!(writer.finish().unwrap_err().kind(), io::ErrorKind::StorageFull);
    }
}
