/*
 * Unit tests of auth/scram.c against the test vectors of RFC 7677
 * (SCRAM-SHA-256) and RFC 5802 (SCRAM-SHA-1): user "user", password
 * "pencil", 4096 iterations.
 */
#include <stdio.h>
#include <string.h>

#include "auth/password.h"
#include "auth/scram.h"
#include "common/base64.h"
#include "tests/unit/tap.h"

struct vector {
	enum scram_hash	 hash;
	const char	*salt, *authmsg, *proof, *sig;
};

static const struct vector vectors[] = {
	{ SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
	    "n=user,r=rOprNGfwEbeRWgbNEkqO,"
	    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" },
	{ SCRAM_SHA1, "QSXCR+Q6sek8bf92",
	    "n=user,r=fyko+d2lbbFgONRv9qkxdawL,"
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=4096,"
	    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
	    "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	    "rmF9pqV8S7suAoZWja4dJRkFsKQ=" },
};

static void
test_vector(const struct vector *t)
{
	struct scram_verifier	v, p;
	unsigned char		salt[64], proof[64], sig[SCRAM_KEY_MAX];
	char			sigb64[64], stored[1024], name[16];
	long			sl, pl;

	sl = base64_decode(t->salt, strlen(t->salt), salt, sizeof(salt));
	pl = base64_decode(t->proof, strlen(t->proof), proof, sizeof(proof));
	ok(scram_make(t->hash, "pencil", salt, sl, 4096, &v) == 0,
	    "make the verifier");
	ok(scram_check_proof(&v, t->authmsg, proof, pl, sig) == 1,
	    "the RFC's ClientProof is accepted");
	base64_encode(sig, scram_keylen(t->hash), sigb64, sizeof(sigb64));
	ok(strcmp(sigb64, t->sig) == 0, "ServerSignature as in the RFC");
	proof[0] ^= 1;
	ok(scram_check_proof(&v, t->authmsg, proof, pl, sig) == 0,
	    "a changed proof is refused");
	proof[0] ^= 1;
	ok(scram_check_proof(&v, t->authmsg, proof, pl - 1, sig) == 0,
	    "a short proof is refused");
	ok(scram_format(&v, stored, sizeof(stored)) == 0 &&
	    strncmp(stored, "4096,", 5) == 0 &&
	    scram_parse(stored, t->hash, &p) == 0 &&
	    memcmp(&p, &v, sizeof(v)) == 0, "format and parse round trip");
	ok(scram_password_matches(&p, "pencil") &&
	    !scram_password_matches(&p, "pencil2"), "password check");
	snprintf(name, sizeof(name), "%s", t->hash == SCRAM_SHA1 ?
	    "{SCRAM-SHA-1}" : "{SCRAM-SHA-256}");
	memmove(stored + strlen(name), stored, strlen(stored) + 1);
	memcpy(stored, name, strlen(name));
	ok(password_verify(stored, "pencil") == PASSWORD_MATCH &&
	    password_verify(stored, "x") == PASSWORD_MISMATCH,
	    "password_verify with a SCRAM verifier");
}

static void
test_parse(void)
{
	struct scram_verifier	v, w;
	char			out[512];

	ok(scram_parse("4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", SCRAM_SHA256, &v) == 0,
	    "RFC 7677's StoredKey and ServerKey parse");
	ok(scram_make(SCRAM_SHA256, "pencil", v.salt, v.saltlen, 4096, &w) == 0 &&
	    scram_format(&w, out, sizeof(out)) == 0 &&
	    strcmp(out, "4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=") == 0,
	    "pencil gives them");
	ok(scram_parse("0,AA==,AA==,AA==", SCRAM_SHA256, &v) == -1,
	    "zero iterations refused");
	ok(scram_parse("99999999999,W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", SCRAM_SHA256, &v) == -1,
	    "iterations past SCRAM_ITER_MAX refused");
	ok(scram_parse("4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=", SCRAM_SHA256, &v) == -1,
	    "three fields refused");
	ok(scram_parse("4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", SCRAM_SHA1, &v) == -1,
	    "SHA-256 keys refused for SHA-1");
	ok(scram_parse("4096x,AA==,AA==,AA==", SCRAM_SHA256, &v) == -1,
	    "junk after the iterations refused");
}

/* Made by Dovecot 2.3.19.1: doveadm pw -s SCRAM-SHA-256 (and -1) -p pencil. */
#define DOVEADM_SHA256 "{SCRAM-SHA-256}4096,y63W0vWar+3heHdFt5+8uw==," \
	"eFdWFfhZkJLQh8AFX6KH5rhPjdXM9HhNSd1I1189iAc=," \
	"coQTH6BvvCRLCJ0I42Y6vGagQMExSCQjsF/ocPYI3sU="
#define DOVEADM_SHA1 "{SCRAM-SHA-1}4096,1w3e7uC3h+sb4n2ezye6jA==," \
	"wE+j8ViUpDxr8EPfPfTU3+FxRZg=,Q70Tc/MlWROa2YTnga7xNbZAGW8="

static void
test_doveadm(void)
{
	char	mine[512];

	ok(password_verify(DOVEADM_SHA256, "pencil") == PASSWORD_MATCH &&
	    password_verify(DOVEADM_SHA256, "pencil!") == PASSWORD_MISMATCH,
	    "doveadm's SCRAM-SHA-256 entry checks");
	ok(password_verify(DOVEADM_SHA1, "pencil") == PASSWORD_MATCH,
	    "doveadm's SCRAM-SHA-1 entry checks");
	/* pop3d-passwd writes the same shape: 4096, 16 octets of salt. */
	ok(password_hash("SCRAM-SHA-256", 0, "pencil", mine, sizeof(mine)) == 0 &&
	    strlen(mine) == strlen(DOVEADM_SHA256) &&
	    strncmp(mine, "{SCRAM-SHA-256}4096,", 20) == 0 &&
	    password_verify(mine, "pencil") == PASSWORD_MATCH,
	    "password_hash SCRAM-SHA-256: doveadm's format");
	ok(password_hash("SCRAM-SHA-1", 0, "pencil", mine, sizeof(mine)) == 0 &&
	    strlen(mine) == strlen(DOVEADM_SHA1),
	    "password_hash SCRAM-SHA-1: doveadm's format");
	ok(password_hash("SCRAM-SHA-256", 4095, "pencil", mine,
	    sizeof(mine)) == -1, "fewer than 4096 iterations refused");
}

static void
test_fake_and_names(void)
{
	struct scram_verifier	a, b, c;
	unsigned char		key[32] = { 1 };
	char			out[64];

	scram_fake(SCRAM_SHA256, key, sizeof(key), "nobody", &a);
	scram_fake(SCRAM_SHA256, key, sizeof(key), "nobody", &b);
	scram_fake(SCRAM_SHA256, key, sizeof(key), "nobody2", &c);
	ok(a.saltlen == 16 && a.iter == SCRAM_ITER_MIN &&
	    memcmp(a.salt, b.salt, 16) == 0 && memcmp(a.salt, c.salt, 16) != 0,
	    "fake salts: stable for a name, different between names");
	ok(scram_saslname("a,b=c", out, sizeof(out)) == 0 &&
	    strcmp(out, "a=2Cb=3Dc") == 0, "saslname escapes ',' and '='");
	ok(scram_saslname("a,b=c", out, 9) == -1, "saslname: short buffer");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		test_vector(&vectors[i]);
	test_parse();
	test_doveadm();
	test_fake_and_names();
	return tap_done();
}
