//! What keeps one client from holding the server: a cap on the connections one address may
//! hold, and a minimum rate at which a request body must arrive.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The connections each address holds, with a cap; addresses in `shared` (reverse proxies,
/// which carry many clients) are not capped.
pub struct PerClient {
    cap: usize,
    shared: Vec<ipnet::IpNet>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    pub fn new(cap: usize, shared: Vec<ipnet::IpNet>) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            shared,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `ip`, or `None` when it holds its share already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let ip = canonical(ip);
        if self.shared.iter().any(|net| net.contains(&ip)) {
            return Some(ClientSlot { of: None, ip });
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            of: Some(self.clone()),
            ip,
        })
    }
}

/// An IPv4 address seen through an IPv6 socket counts as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One connection's place in its address's share; given back when dropped.
pub struct ClientSlot {
    of: Option<Arc<PerClient>>,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(of) = &self.of else { return };
        let mut open = of.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A request body that must keep arriving: after `grace`, at least `rate` bytes a second on
/// average since it began, or it ends with [`TooSlow`] (and the connection with it).
pub struct MinRate<B> {
    inner: B,
    received: u64,
    began: Instant,
    grace: Duration,
    rate: u64,
    /// Made the first time the body has to be waited for: a body that is already there (most
    /// are, arriving with the head) costs no timer.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> MinRate<B> {
    pub fn new(inner: B, rate: u64, grace: Duration) -> Self {
        Self {
            inner,
            received: 0,
            began: Instant::now(),
            grace,
            rate: rate.max(1),
            deadline: None,
        }
    }

    /// When the body falls behind the rate if nothing more arrives.
    fn due(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / self.rate as f64);
        self.began + self.grace + earned
    }
}

/// The error a body that fell behind [`MinRate`] ends with.
#[derive(Debug)]
pub struct TooSlow {
    pub rate: u64,
}

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body arrived slower than {} bytes a second; the connection was closed",
            self.rate
        )
    }
}

impl std::error::Error for TooSlow {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> HttpBody for MinRate<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let due = this.due();
                    if let Some(deadline) = this.deadline.as_mut() {
                        deadline.as_mut().reset(due);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let due = this.due();
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::info!(
                            received = this.received,
                            seconds = this.began.elapsed().as_secs(),
                            "a request body arrived too slowly; closing its connection"
                        );
                        Poll::Ready(Some(Err(Box::new(TooSlow { rate: this.rate }))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn each_address_holds_at_most_its_share() {
        let clients = PerClient::new(2, vec!["10.0.0.0/8".parse().unwrap()]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let first = clients.admit(a).unwrap();
        let _second = clients.admit(mapped).unwrap();
        assert!(clients.admit(a).is_none(), "a third from the same address");
        assert!(clients.admit("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        assert!(clients.admit(a).is_some(), "a place freed is taken again");
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let held: Vec<_> = (0..10).map(|_| clients.admit(proxy).unwrap()).collect();
        assert_eq!(held.len(), 10, "a proxy is not capped");
    }

    type Chunks =
        Pin<Box<dyn futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send>>;

    /// A body of `chunks` pieces of `size` bytes, one every `every`.
    fn paced(chunks: usize, size: usize, every: Duration) -> http_body_util::StreamBody<Chunks> {
        let stream = futures_util::stream::unfold(0, move |n| async move {
            if n == chunks {
                return None;
            }
            if n > 0 {
                tokio::time::sleep(every).await;
            }
            Some((Ok(Frame::data(Bytes::from(vec![b'x'; size]))), n + 1))
        });
        http_body_util::StreamBody::new(Box::pin(stream))
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_body_is_ended_and_a_steady_one_is_not() {
        let mut slow = MinRate::new(
            paced(1000, 1, Duration::from_secs(5)),
            100,
            Duration::from_secs(10),
        );
        let began = Instant::now();
        let err = loop {
            match slow.frame().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => break e,
                None => panic!("the body ended"),
            }
        };
        assert!(err.is::<TooSlow>(), "{err}");
        let took = began.elapsed();
        assert!(
            (Duration::from_secs(10)..Duration::from_secs(11)).contains(&took),
            "{took:?}"
        );

        let mut steady = MinRate::new(
            paced(30, 200, Duration::from_secs(1)),
            100,
            Duration::from_secs(1),
        );
        let mut total = 0;
        while let Some(frame) = steady.frame().await {
            total += frame.unwrap().into_data().unwrap().len();
        }
        assert_eq!(total, 6000);
    }
}
