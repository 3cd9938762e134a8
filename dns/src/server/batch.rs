//! Batched UDP I/O: up to [`BATCH`] datagrams read with one `recvmmsg`
//! and the replies to them written with one `sendmmsg`, so that under
//! load a query costs a fraction of a system call each way instead of two
//! whole ones. The buffers are made once per socket and reused.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::{SockAddr, SockAddrStorage};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams per system call. Beyond the queries in flight per socket
/// under dnsperf's load here (8 clients x 100 over 2 sockets), a larger
/// batch only costs memory.
pub const BATCH: usize = 32;

/// The largest reply the hot path writes: the EDNS size it offers, plus
/// the OPT record it appends.
const MAX_REPLY: usize = crate::wire::EDNS_UDP_SIZE as usize + 11;

/// The buffers of one socket's batches.
pub struct Batch {
    packets: Vec<Box<[u8]>>,
    lengths: [usize; BATCH],
    sources: [libc::sockaddr_storage; BATCH],
    source_lengths: [libc::socklen_t; BATCH],
    received: usize,
    replies: Vec<Vec<u8>>,
    destinations: Vec<SockAddr>,
    queued: usize,
}

impl Batch {
    /// Buffers for datagrams of up to `max_query` bytes.
    pub fn new(max_query: usize) -> Batch {
        let unspecified = || SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0)));
        Batch {
            packets: (0..BATCH).map(|_| vec![0u8; max_query].into()).collect(),
            lengths: [0; BATCH],
            // SAFETY: all zeros is an empty sockaddr_storage.
            sources: unsafe { std::mem::zeroed() },
            source_lengths: [0; BATCH],
            received: 0,
            replies: (0..BATCH).map(|_| Vec::with_capacity(MAX_REPLY)).collect(),
            destinations: (0..BATCH).map(|_| unspecified()).collect(),
            queued: 0,
        }
    }

    /// Wait for datagrams and read as many as are there, up to [`BATCH`];
    /// how many. Errors other than "nothing there yet" are the socket's
    /// (an ICMP error of an earlier reply, say) and leave it usable.
    pub async fn receive(&mut self, socket: &UdpSocket) -> std::io::Result<usize> {
        self.received = 0;
        self.queued = 0;
        loop {
            socket.readable().await?;
            match socket.try_io(Interest::READABLE, || self.recvmmsg(socket)) {
                Ok(n) => {
                    self.received = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Datagram `i` of the last [`Batch::receive`], and who sent it.
    pub fn datagram(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        if i >= self.received {
            return None;
        }
        let mut storage = SockAddrStorage::zeroed();
        // SAFETY: the storage is a sockaddr_storage; the kernel wrote a
        // sockaddr of `source_lengths[i]` bytes into `sources[i]`.
        let source = unsafe {
            *storage.view_as::<libc::sockaddr_storage>() = self.sources[i];
            SockAddr::new(storage, self.source_lengths[i])
        };
        Some((&self.packets[i][..self.lengths[i]], source.as_socket()?))
    }

    /// Offer datagram `i` and the buffer of the next reply to `answer`,
    /// which writes the reply and says whether it did; a written reply is
    /// queued for the datagram's sender. `false` when it was not answered
    /// (or there is no such datagram).
    pub fn answer(
        &mut self,
        i: usize,
        answer: impl FnOnce(&[u8], SocketAddr, &mut Vec<u8>) -> bool,
    ) -> bool {
        let Some((_, source)) = self.datagram(i) else {
            return false;
        };
        let (Some(packet), Some(reply)) = (self.packets.get(i), self.replies.get_mut(self.queued))
        else {
            return false;
        };
        if !answer(&packet[..self.lengths[i]], source, reply) {
            return false;
        }
        self.destinations[self.queued] = SockAddr::from(source);
        self.queued += 1;
        true
    }

    /// The replies queued, each with where it goes.
    pub fn queued(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        (self.replies.iter().zip(&self.destinations))
            .take(self.queued)
            .filter_map(|(r, d)| Some((r.as_slice(), d.as_socket()?)))
    }

    /// Send the queued replies, with one `sendmmsg` when the socket takes
    /// them all at once and one by one for whatever it did not; failures
    /// are per reply (a client gone) and only logged. They stay queued
    /// (for [`Batch::queued`]) until the next [`Batch::receive`].
    pub async fn send(&mut self, socket: &UdpSocket) {
        let queued = self.queued;
        let sent = socket
            .try_io(Interest::WRITABLE, || self.sendmmsg(socket, queued))
            .unwrap_or(0);
        for i in sent..queued {
            let (reply, to) = (&self.replies[i], &self.destinations[i]);
            let Some(to) = to.as_socket() else { continue };
            if let Err(e) = socket.send_to(reply, to).await {
                tracing::debug!("cannot send a DNS answer to {to}: {e}");
            }
        }
    }

    fn recvmmsg(&mut self, socket: &UdpSocket) -> std::io::Result<usize> {
        let mut iovecs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.packets[i].as_mut_ptr().cast(),
            iov_len: self.packets[i].len(),
        });
        let storage = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let sources = &mut self.sources;
        let mut headers = headers(&mut iovecs, BATCH, |i| {
            (std::ptr::addr_of_mut!(sources[i]).cast(), storage)
        });
        // SAFETY: every header points at a live buffer of the length it
        // gives (the packets, and the sources' sockaddr_storage), for the
        // duration of the call; the socket is non-blocking.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        let n = usize::try_from(n).map_err(|_| std::io::Error::last_os_error())?;
        for (i, h) in headers.iter().enumerate().take(n) {
            self.lengths[i] = h.msg_len as usize;
            self.source_lengths[i] = h.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    fn sendmmsg(&mut self, socket: &UdpSocket, queued: usize) -> std::io::Result<usize> {
        if queued == 0 {
            return Ok(0);
        }
        let mut iovecs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.replies[i].as_mut_ptr().cast(),
            iov_len: self.replies[i].len(),
        });
        let destinations = &self.destinations;
        // The kernel only reads a destination.
        let mut headers = headers(&mut iovecs, queued, |i| {
            (
                destinations[i].as_ptr() as *mut libc::c_void,
                destinations[i].len(),
            )
        });
        // SAFETY: the first `queued` headers point at live replies and
        // destinations of the lengths they give, for the call's duration.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                queued as u32,
                libc::MSG_DONTWAIT,
            )
        };
        usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
    }
}

/// The message headers of the first `n` of `iovecs`, each with the address
/// `name(i)` gives (where it is, and its length).
fn headers(
    iovecs: &mut [libc::iovec; BATCH],
    n: usize,
    mut name: impl FnMut(usize) -> (*mut libc::c_void, libc::socklen_t),
) -> [libc::mmsghdr; BATCH] {
    // SAFETY: mmsghdr is plain data; zeroed is its empty value.
    let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, h) in headers.iter_mut().enumerate().take(n) {
        let (address, length) = name(i);
        h.msg_hdr.msg_name = address;
        h.msg_hdr.msg_namelen = length;
        h.msg_hdr.msg_iov = &mut iovecs[i];
        h.msg_hdr.msg_iovlen = 1;
    }
    headers
}
