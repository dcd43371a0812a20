// tls_error_queue: keeps one peer's failed TLS handshake from breaking the
// other connections of its node.
//
// OpenSSL keeps a queue of errors per thread, and SSL_get_error reports any
// error still queued as the failure of the call it is asked about. CAF
// 0.17.6's OpenSSL module calls SSL_get_error after every TLS read, write
// and handshake step on the middleman's one thread, and empties the queue
// only inside log statements, which Debian's build compiles out. So the
// first peer that fails its handshake (another authority's certificate, a
// plain-text node) leaves an error behind, and from then on the node drops
// its live TLS connections and refuses new ones.
//
// Private to the net library.
#pragma once

namespace ormo::net {

/// From now on, in this process, SSL_get_error empties the calling thread's
/// OpenSSL error queue once it has read it, so the next TLS call on that
/// thread starts with an empty queue, as OpenSSL requires. Processes that
/// never call this keep OpenSSL's own behaviour.
void empty_tls_errors_after_reading();

} // namespace ormo::net
