//! The agent's QUIC endpoint: a server (direct mode) that requires every viewer to
//! present a certificate carrying its Ed25519 key.
//!
//! TLS 1.3 only, rustls with the ring provider, no plaintext mode. Certificates are not
//! judged by any authority: any Ed25519 certificate is accepted as an envelope for the
//! viewer's key (the handshake signature proves the viewer holds it), and trust comes
//! from the one-time code, proven over [`channel_binding`] by the protocol crate.

mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lifeline_protocol::{Fingerprint, certificate::certificate_public_key};

use crate::identity::Identity;

pub use tls::ALPN;

/// The endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// TLS configuration failed.
    #[error("cannot configure TLS: {0}")]
    Tls(String),
    /// The address could not be bound.
    #[error(
        "cannot listen on {address}: {source}. Is another agent running, or is the address wrong?"
    )]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The peer presented no usable key.
    #[error("the viewer presented no Ed25519 certificate: {0}")]
    PeerKey(String),
    /// Exporting the channel binding failed.
    #[error("cannot derive the channel binding from the TLS session")]
    ChannelBinding,
}

/// Transport settings shared by every connection: keep the connection alive through
/// short outages, and give up after a longer silence.
fn transport_config() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(1)));
    // A session survives a few seconds without packets; after 15 s of silence it ends.
    transport.max_idle_timeout(Some(quinn::VarInt::from_u32(15_000).into()));
    // One control stream, opened by the viewer; video streams are opened by the agent.
    transport.max_concurrent_bidi_streams(quinn::VarInt::from_u32(1));
    transport.max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    transport.datagram_receive_buffer_size(Some(64 * 1024));
    // BBR paces to the path's measured bandwidth and does not read random loss as
    // congestion (Cubic's window collapses at 2% loss on a long path); the video's own
    // rate control keeps queues short on top of it.
    transport.congestion_controller_factory(Arc::new(quinn::congestion::BbrConfig::default()));
    transport
}

/// Binds the agent's QUIC server on `address`.
pub fn listen(identity: &Identity, address: SocketAddr) -> Result<quinn::Endpoint, NetError> {
    let crypto = tls::server_crypto(identity)?;
    let quic_crypto = quinn::crypto::rustls::QuicServerConfig::try_from(crypto)
        .map_err(|err| NetError::Tls(err.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic_crypto));
    config.transport_config(Arc::new(transport_config()));
    quinn::Endpoint::server(config, address).map_err(|source| NetError::Bind { address, source })
}

/// The fingerprint of the key the viewer authenticated its TLS handshake with.
pub fn peer_fingerprint(connection: &quinn::Connection) -> Result<Fingerprint, NetError> {
    let identity = connection
        .peer_identity()
        .ok_or_else(|| NetError::PeerKey("no certificate".to_owned()))?;
    let certificates = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .map_err(|_| NetError::PeerKey("unexpected identity type".to_owned()))?;
    let leaf = certificates
        .first()
        .ok_or_else(|| NetError::PeerKey("empty certificate chain".to_owned()))?;
    certificate_public_key(leaf)
        .map(|key| key.fingerprint())
        .map_err(|err| NetError::PeerKey(err.to_string()))
}

/// Label of the TLS exporter that binds authentication to this connection.
pub const CHANNEL_BINDING_LABEL: &[u8] = b"EXPORTER-lifeline-channel-binding-v1";

/// A value unique to this TLS session, that both ends compute on their own.
pub fn channel_binding(connection: &quinn::Connection) -> Result<Vec<u8>, NetError> {
    let mut binding = vec![0u8; 32];
    connection
        .export_keying_material(&mut binding, CHANNEL_BINDING_LABEL, b"")
        .map_err(|_| NetError::ChannelBinding)?;
    Ok(binding)
}
