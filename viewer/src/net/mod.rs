//! The viewer's QUIC client: connects to an agent, presenting the technician's key.
//!
//! TLS 1.3 only (rustls, ring provider). The agent's certificate is accepted as an
//! envelope for its Ed25519 key (the handshake signature proves the agent holds it);
//! whether that key is the right one is decided by the one-time code (SPAKE2 bound to
//! [`channel_binding`]) and by trust on first use ([`crate::known_agents`]).

mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lifeline_protocol::Fingerprint;
use lifeline_protocol::certificate::certificate_public_key;

use crate::identity::Identity;

/// Connecting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The address does not resolve.
    #[error("cannot find {address}: {reason}. Check the device ID (host:port)")]
    Resolve {
        /// What was typed.
        address: String,
        /// Why.
        reason: String,
    },
    /// TLS configuration failed.
    #[error("cannot configure TLS: {0}")]
    Tls(String),
    /// No local socket.
    #[error("cannot open a local UDP socket: {0}")]
    Socket(std::io::Error),
    /// The agent did not answer or refused.
    #[error(
        "cannot reach the agent at {address}: {reason}. Is the agent running, and is the address right?"
    )]
    Unreachable {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The agent presented no usable key.
    #[error("the agent presented no Ed25519 certificate: {0}")]
    PeerKey(String),
    /// Exporting the channel binding failed.
    #[error("cannot derive the channel binding from the TLS session")]
    ChannelBinding,
}

/// Label of the TLS exporter that binds authentication to this connection. The agent
/// uses the same.
pub const CHANNEL_BINDING_LABEL: &[u8] = b"EXPORTER-lifeline-channel-binding-v1";

fn transport_config() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(1)));
    transport.max_idle_timeout(Some(quinn::VarInt::from_u32(15_000).into()));
    // The agent opens one unidirectional stream per video frame; a few may overlap.
    transport.max_concurrent_uni_streams(quinn::VarInt::from_u32(16));
    transport.max_concurrent_bidi_streams(quinn::VarInt::from_u32(0));
    transport.datagram_receive_buffer_size(Some(64 * 1024));
    transport
}

/// Resolves `address` (`host:port`).
pub async fn resolve(address: &str) -> Result<SocketAddr, ConnectError> {
    let resolve_error = |reason: String| ConnectError::Resolve {
        address: address.to_owned(),
        reason,
    };
    let mut addresses = tokio::net::lookup_host(address)
        .await
        .map_err(|err| resolve_error(err.to_string()))?;
    addresses
        .next()
        .ok_or_else(|| resolve_error("no address found".to_owned()))
}

/// The QUIC client configuration: TLS 1.3 with the technician's key, and the viewer's
/// transport limits.
pub fn client_config(identity: &Identity) -> Result<quinn::ClientConfig, ConnectError> {
    let crypto = tls::client_crypto(identity)?;
    let quic_crypto = quinn::crypto::rustls::QuicClientConfig::try_from(crypto)
        .map_err(|err| ConnectError::Tls(err.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic_crypto));
    config.transport_config(Arc::new(transport_config()));
    Ok(config)
}

/// Opens a QUIC connection to the agent at `address`.
pub async fn connect(
    identity: &Identity,
    address: &str,
) -> Result<quinn::Connection, ConnectError> {
    let target = resolve(address).await?;
    let bind: SocketAddr = if target.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let mut endpoint = quinn::Endpoint::client(bind).map_err(ConnectError::Socket)?;
    endpoint.set_default_client_config(client_config(identity)?);
    let unreachable = |reason: String| ConnectError::Unreachable {
        address: address.to_owned(),
        reason,
    };
    let connecting = endpoint
        .connect(target, "lifeline")
        .map_err(|err| unreachable(err.to_string()))?;
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(unreachable(err.to_string())),
        Err(_) => Err(unreachable("no answer within 10 s".to_owned())),
    }
}

/// The fingerprint of the key the agent authenticated its TLS handshake with.
pub fn peer_fingerprint(connection: &quinn::Connection) -> Result<Fingerprint, ConnectError> {
    let identity = connection
        .peer_identity()
        .ok_or_else(|| ConnectError::PeerKey("no certificate".to_owned()))?;
    let certificates = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .map_err(|_| ConnectError::PeerKey("unexpected identity type".to_owned()))?;
    let leaf = certificates
        .first()
        .ok_or_else(|| ConnectError::PeerKey("empty certificate chain".to_owned()))?;
    certificate_public_key(leaf)
        .map(|key| key.fingerprint())
        .map_err(|err| ConnectError::PeerKey(err.to_string()))
}

/// A value unique to this TLS session that the agent computes too.
pub fn channel_binding(connection: &quinn::Connection) -> Result<Vec<u8>, ConnectError> {
    let mut binding = vec![0u8; 32];
    connection
        .export_keying_material(&mut binding, CHANNEL_BINDING_LABEL, b"")
        .map_err(|_| ConnectError::ChannelBinding)?;
    Ok(binding)
}
