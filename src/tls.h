/*
 * tls.h - the certificate and key of --tls-cert / --tls-key: read, checked
 * and described before libmicrohttpd is given them, so that a bad file stops
 * cmsd with a message naming it.
 */
#ifndef CMSD_TLS_H
#define CMSD_TLS_H

/* The TLS versions and ciphers cmsd offers (GnuTLS priority string): TLS
 * 1.3, and TLS 1.2 with forward secrecy and AEAD ciphers only (ECDHE or DHE
 * key exchange; AES-GCM, ChaCha20-Poly1305; no static RSA key exchange, no
 * CBC, no SHA-1 MAC). */
#define TLS_PRIORITIES                                                         \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"                          \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:"                            \
	"-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"            \
	"-MAC-ALL:+AEAD"
/* Sent with every answer over TLS (RFC 6797): browsers keep to HTTPS for
 * this host for a year. */
#define TLS_HSTS "max-age=31536000"

/* Read and check the PEM files; on success *cert and *key hold their text
 * (release with tls_release).  Returns 0, or -1 after logging which file is
 * wrong and why. */
int tls_load(const char *cert_path, const char *key_path, char **cert, char **key);
/* Free what tls_load gave, wiping the key. */
void tls_release(char **cert, char **key);

#endif
