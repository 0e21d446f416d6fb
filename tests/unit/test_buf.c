/*
 * Tests of buf.c: bounded buffers at and past their limit, formatted
 * growth, HTML escaping, constant-time comparison, base64url and
 * base64, UTF-8 validation and the file reader.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

static void
test_limit_exact(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "0123456789", 10), RP_OK);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.p, "0123456789");
	/* max + 1: refused, and the buffer is unchanged. */
	assert_int_equal(buf_addc(&b, 'x'), RP_ERR_NOMEM);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.p, "0123456789");
	/* Adding nothing at the limit is fine. */
	assert_int_equal(buf_add(&b, "", 0), RP_OK);
	assert_int_equal(b.len, 10);
	buf_free(&b);

	/* One shot of max + 1 into an empty buffer. */
	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "0123456789a", 11), RP_ERR_NOMEM);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_adds(&b, "01234"), RP_OK);
	assert_int_equal(buf_adds(&b, "567890"), RP_ERR_NOMEM);
	assert_int_equal(buf_adds(&b, "56789"), RP_OK);
	assert_string_equal(b.p, "0123456789");
	buf_free(&b);

	/* A huge length must not wrap around the check. */
	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "ab"), RP_OK);
	assert_int_equal(buf_add(&b, "x", (size_t)-1), RP_ERR_NOMEM);
	assert_int_equal(buf_add(&b, "x", (size_t)-1 - 1), RP_ERR_NOMEM);
	assert_int_equal(b.len, 2);
	buf_free(&b);
}

static void
test_limit_large(void **state)
{
	struct buf	 b;
	char		*big;
	size_t		 max = 5000, i;

	(void)state;
	/* Past the first allocation, up to exactly max by single bytes. */
	assert_non_null(big = malloc(max + 1));
	for (i = 0; i < max; i++)
		big[i] = (char)('a' + i % 26);
	big[max] = '\0';
	buf_init(&b, max);
	for (i = 0; i < max; i++)
		assert_int_equal(buf_addc(&b, big[i]), RP_OK);
	assert_int_equal(b.len, max);
	assert_true(b.cap > max);
	assert_memory_equal(b.p, big, max + 1);
	assert_int_equal(buf_addc(&b, 'z'), RP_ERR_NOMEM);
	assert_int_equal(b.len, max);
	assert_int_equal(b.p[max], '\0');
	free(big);
	buf_free(&b);
}

/* A max of SIZE_MAX ("no limit") must not wrap the capacity to 0. */
static void
test_limit_size_max(void **state)
{
	struct buf	 b;
	char		 x[3000];

	(void)state;
	memset(x, 'q', sizeof(x));
	buf_init(&b, SIZE_MAX);
	assert_int_equal(buf_add(&b, x, 300), RP_OK);
	assert_int_equal(buf_add(&b, x, sizeof(x)), RP_OK);
	assert_int_equal(b.len, 3300);
	assert_true(b.cap > b.len);
	assert_int_equal(b.p[3299], 'q');
	assert_int_equal(b.p[3300], '\0');
	assert_int_equal(buf_add(&b, x, SIZE_MAX), RP_ERR_NOMEM);
	buf_free(&b);
}

static void
test_reset_free(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 100);
	buf_reset(&b);			/* nothing allocated yet */
	assert_int_equal(b.len, 0);
	buf_free(&b);			/* zeroed buf */
	buf_free(&b);			/* twice */
	buf_free(NULL);
	assert_int_equal(buf_adds(&b, "hello"), RP_OK);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_adds(&b, "again"), RP_OK);
	assert_string_equal(b.p, "again");
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);

	/* Adding nothing still leaves a NUL-terminated string. */
	buf_init(&b, 100);
	assert_int_equal(buf_add(&b, NULL, 0), RP_OK);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	buf_free(&b);
}

static void
test_addf(void **state)
{
	struct buf	 b;
	char		 want[16];
	size_t		 i, off;
	int		 n;

	(void)state;
	buf_init(&b, 100000);
	/* Many appends force several reallocations. */
	for (i = 0; i < 2000; i++)
		assert_int_equal(buf_addf(&b, "%05zu,", i), RP_OK);
	assert_int_equal(b.len, 2000 * 6);
	assert_int_equal(strlen(b.p), b.len);
	for (i = 0, off = 0; i < 2000; i++, off += 6) {
		n = snprintf(want, sizeof(want), "%05zu,", i);
		assert_int_equal(n, 6);
		assert_memory_equal(b.p + off, want, 6);
	}
	buf_free(&b);

	/* One formatted string larger than the first allocation. */
	buf_init(&b, 1000);
	assert_int_equal(buf_addf(&b, "%s-%0600d", "x", 7), RP_OK);
	assert_int_equal(b.len, 602);
	assert_int_equal(b.p[601], '7');
	assert_int_equal(b.p[602], '\0');
	buf_free(&b);

	/* Exactly up to max, then one over. */
	buf_init(&b, 8);
	assert_int_equal(buf_addf(&b, "%d", 1234), RP_OK);
	assert_int_equal(buf_addf(&b, "%s", "56789"), RP_ERR_NOMEM);
	assert_string_equal(b.p, "1234");
	assert_int_equal(buf_addf(&b, "%s", "5678"), RP_OK);
	assert_string_equal(b.p, "12345678");
	assert_int_equal(buf_addf(&b, "%s", ""), RP_OK);
	assert_int_equal(buf_addf(&b, "%c", 'x'), RP_ERR_NOMEM);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void
test_html(void **state)
{
	struct buf	 b;
	static const char in[] = "<a href=\"x\" title='y'>&amp;</a>";

	(void)state;
	buf_init(&b, 1000);
	assert_int_equal(buf_add_html(&b, in, sizeof(in) - 1), RP_OK);
	assert_string_equal(b.p, "&lt;a href=&quot;x&quot; title=&#39;y&#39;"
	    "&gt;&amp;amp;&lt;/a&gt;");
	buf_reset(&b);
	assert_int_equal(buf_add_html(&b, "plain text", 10), RP_OK);
	assert_string_equal(b.p, "plain text");
	buf_reset(&b);
	/* Only n bytes are read, and NUL bytes pass through. */
	assert_int_equal(buf_add_html(&b, "a\0<b", 4), RP_OK);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.p, "a\0&lt;b", 8);
	buf_reset(&b);
	assert_int_equal(buf_add_html(&b, "<>", 1), RP_OK);
	assert_string_equal(b.p, "&lt;");
	buf_reset(&b);
	assert_int_equal(buf_add_html(&b, "", 0), RP_OK);
	assert_string_equal(b.p, "");
	buf_free(&b);

	/* The escaped form counts against the limit. */
	buf_init(&b, 4);
	assert_int_equal(buf_add_html(&b, "&", 1), RP_ERR_NOMEM);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_add_html(&b, "<", 1), RP_OK);
	assert_string_equal(b.p, "&lt;");
	buf_free(&b);
}

static void
test_ct_equal(void **state)
{
	unsigned char	 a[64], c[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(a); i++)
		a[i] = c[i] = (unsigned char)(i * 7);
	assert_int_equal(rp_ct_equal(a, c, sizeof(a)), 1);
	assert_int_equal(rp_ct_equal(a, c, 0), 1);
	/* A difference in any byte, any bit, is seen. */
	for (i = 0; i < sizeof(a); i++) {
		c[i] ^= 0x80;
		assert_int_equal(rp_ct_equal(a, c, sizeof(a)), 0);
		c[i] ^= 0x81;
		assert_int_equal(rp_ct_equal(a, c, sizeof(a)), 0);
		c[i] ^= 0x01;
	}
	assert_int_equal(rp_ct_equal(a, c, sizeof(a)), 1);
	/* Only n bytes compared. */
	c[10] = 0xff;
	a[10] = 0x00;
	assert_int_equal(rp_ct_equal(a, c, 10), 1);
	assert_int_equal(rp_ct_equal(a, c, 11), 0);
}

#define UTF8_OK(s)	assert_int_equal(rp_utf8_valid(s, sizeof(s) - 1), 1)
#define UTF8_BAD(s)	assert_int_equal(rp_utf8_valid(s, sizeof(s) - 1), 0)

/* RFC 4648 section 10 vectors, base64url without padding, both ways. */
static void
test_b64url_vectors(void **state)
{
	static const struct {
		const char	*raw;
		const char	*enc;
	} v[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	/* The two characters that differ from standard base64. */
	static const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	unsigned char	 raw[8];
	char		 out[16];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = strlen(v[i].raw);
		assert_int_equal(rp_b64url_encode((const unsigned char *)
		    v[i].raw, n, out, sizeof(out)), strlen(v[i].enc));
		assert_string_equal(out, v[i].enc);
		memset(raw, 0xaa, sizeof(raw));
		assert_int_equal(rp_b64url_decode(v[i].enc, strlen(v[i].enc),
		    raw, n), 1);
		assert_memory_equal(raw, v[i].raw, n);
		/* Nothing past outlen is written. */
		assert_int_equal(raw[n], 0xaa);
	}
	assert_int_equal(rp_b64url_encode(hi, sizeof(hi), out, sizeof(out)),
	    4);
	assert_string_equal(out, "-_-_");
	assert_int_equal(rp_b64url_decode("-_-_", 4, raw, 3), 1);
	assert_memory_equal(raw, hi, 3);
	assert_int_equal(rp_b64url_encode(hi, 2, out, sizeof(out)), 3);
	assert_string_equal(out, "-_8");
}

/* Every length from 0 to 64 bytes and every byte value survive a trip. */
static void
test_b64url_roundtrip(void **state)
{
	unsigned char	 in[256], back[256];
	char		 out[400];
	size_t		 i, n, len;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	for (n = 0; n <= 64; n++) {
		len = n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
		assert_int_equal(rp_b64url_encode(in, n, out, sizeof(out)),
		    len);
		assert_int_equal(strlen(out), len);
		assert_int_equal(rp_b64url_decode(out, len, back, n), 1);
		assert_memory_equal(back, in, n);
	}
	len = rp_b64url_encode(in, sizeof(in), out, sizeof(out));
	assert_int_equal(len, 342);
	assert_int_equal(rp_b64url_decode(out, len, back, sizeof(back)), 1);
	assert_memory_equal(back, in, sizeof(in));
}

/* The encoder needs room for every character and the NUL. */
static void
test_b64url_encode_room(void **state)
{
	unsigned char	 in[3] = { 'f', 'o', 'o' };
	char		 out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(rp_b64url_encode(in, 3, out, 5), 4);
	assert_string_equal(out, "Zm9v");
	memset(out, 'x', sizeof(out));
	assert_int_equal(rp_b64url_encode(in, 3, out, 4), 0);
	assert_int_equal(out[0], 'x');
	assert_int_equal(rp_b64url_encode(in, 1, out, 2), 0);
	assert_int_equal(rp_b64url_encode(in, 0, out, 0), 0);
	assert_int_equal(out[0], 'x');
	assert_int_equal(rp_b64url_encode(in, 0, out, 1), 0);
	assert_int_equal(out[0], '\0');
	/* A length whose encoding cannot be counted is refused. */
	assert_int_equal(rp_b64url_encode(in, SIZE_MAX, out, sizeof(out)),
	    0);
	assert_int_equal(rp_b64url_encode(in, SIZE_MAX / 4 * 3, out,
	    SIZE_MAX), 0);
}

/* Anything but the one canonical unpadded spelling is refused. */
static void
test_b64url_decode_bad(void **state)
{
	static const char *const chars[] = {
		"Zm9+", "Zm9/", "Zm9=", "Zm9 ", "Zm9.", "Zm\xff" "v",
	};
	unsigned char	 raw[8];
	size_t		 i;

	(void)state;
	/* Standard base64, padding, other bytes, a NUL. */
	for (i = 0; i < sizeof(chars) / sizeof(chars[0]); i++)
		assert_int_equal(rp_b64url_decode(chars[i], 4, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("Zm\0v", 4, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("Zm9v", 4, raw, 3), 1);
	/* Padding: "Zg==" is the wrong length for one byte, wrong bytes
	 * for two. */
	assert_int_equal(rp_b64url_decode("Zg==", 4, raw, 1), 0);
	assert_int_equal(rp_b64url_decode("Zg==", 4, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("Zm8=", 4, raw, 2), 0);
	assert_int_equal(rp_b64url_decode("Zm8", 3, raw, 2), 1);
	/* Wrong lengths: too short, too long, one character over a group. */
	assert_int_equal(rp_b64url_decode("Zm9", 3, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("Zm9vY", 5, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("Zm9vY", 5, raw, 4), 0);
	assert_int_equal(rp_b64url_decode("Zm9vYg", 6, raw, 3), 0);
	assert_int_equal(rp_b64url_decode("", 0, raw, 1), 0);
	assert_int_equal(rp_b64url_decode("Zg", 2, raw, 0), 0);
	assert_int_equal(rp_b64url_decode("", 0, raw, 0), 1);
	assert_int_equal(rp_b64url_decode("Zg", 2, raw, SIZE_MAX), 0);
	/* Unused low bits must be zero: "Zh" and "Zm9" are not canonical. */
	assert_int_equal(rp_b64url_decode("Zg", 2, raw, 1), 1);
	assert_int_equal(raw[0], 'f');
	assert_int_equal(rp_b64url_decode("Zh", 2, raw, 1), 0);
	assert_int_equal(rp_b64url_decode("Zv", 2, raw, 1), 0);
	assert_int_equal(rp_b64url_decode("Zm9", 3, raw, 2), 0);
	assert_int_equal(rp_b64url_decode("Zm_", 3, raw, 2), 0);
}

/*
 * Standard base64 (PEM, CMS): RFC 4648's vectors, white space anywhere,
 * the two characters base64url lacks, every padding.
 */
static void
test_b64_vectors(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
		size_t		 len;
	} t[] = {
		{ "Zg==", "f", 1 },
		{ "Zm8=", "fo", 2 },
		{ "Zm9v", "foo", 3 },
		{ "Zm9vYg==", "foob", 4 },
		{ "Zm9vYmE=", "fooba", 5 },
		{ "Zm9vYmFy", "foobar", 6 },
		{ "TWFu", "Man", 3 },
		{ "QUJD\r\n QUI=\n", "ABCAB", 5 },
		{ " Q U J D ", "ABC", 3 },
		{ " T W\r\nFu\t", "Man", 3 },
		{ "\n\nQQ==\r\n\r\n", "A", 1 },
		{ "QQ=\n=", "A", 1 },		/* white space anywhere */
		{ "+/+/", "\xfb\xff\xbf", 3 },
		{ "AAAA", "\0\0\0", 3 },
	};
	unsigned char	 out[16];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = rp_b64_decode(t[i].in, strlen(t[i].in), out, sizeof(out));
		if (n != t[i].len || memcmp(out, t[i].want, n) != 0)
			fail_msg("misread \"%s\"", t[i].in);
	}
	/* Text that needs exactly inlen / 4 * 3 bytes decodes in them. */
	assert_int_equal(rp_b64_decode("Zm9vYmFy", 8, out, 6), 6);
	assert_memory_equal(out, "foobar", 6);
}

/*
 * Anything else is refused with 0: nothing, unpadded or cut text, '='
 * inside or three of them, bits the padding leaves over, base64url and
 * other bytes, a NUL.
 */
static void
test_b64_decode_bad(void **state)
{
	static const char *const bad[] = {
		"", " \n", "  ", "Q", "QQ", "QQ=", "QUJ", "TWE",
		"QQ===", "Q===", "T===", "====", "QUI=QUI=", "QUJDQ===",
		"QQ==QUJD", "TQ==TWFu", "QQ==Q", "QQ=Q",
		"QR==", "TR==", "QUJ=", "TWF=", "Zh==", "Zm9=",
		"QUJD!", "QU-D", "QU_D", "TW-u", "Zm9.", "Zm\xff" "v",
		"Zm9v\v", "Zm9v\f",
	};
	unsigned char	 out[16];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rp_b64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out)) != 0)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(rp_b64_decode("Zm\0v", 4, out, sizeof(out)), 0);
	assert_int_equal(rp_b64_decode("Zm9v\0", 5, out, sizeof(out)), 0);
	/* Only the inlen bytes given are read. */
	assert_int_equal(rp_b64_decode("Zm9vYmFy", 4, out, sizeof(out)), 3);
	assert_int_equal(rp_b64_decode("Zm9vYmFy", 3, out, sizeof(out)), 0);
	assert_int_equal(rp_b64_decode(NULL, 0, NULL, 0), 0);
}

/* What does not fit out's outsz bytes is refused, nothing written past. */
static void
test_b64_decode_room(void **state)
{
	unsigned char	 out[8];

	(void)state;
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(rp_b64_decode("QUJD", 4, out, 2), 0);
	assert_int_equal(out[0], 0xaa);
	assert_int_equal(rp_b64_decode("QUJD", 4, out, 3), 3);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(rp_b64_decode("QUI=", 4, out, 1), 0);
	assert_int_equal(out[0], 0xaa);
	assert_int_equal(rp_b64_decode("QUI=", 4, out, 2), 2);
	assert_int_equal(rp_b64_decode("QQ==", 4, out, 0), 0);
	assert_int_equal(rp_b64_decode("QQ==", 4, out, 1), 1);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(rp_b64_decode("QUJDQUI=", 8, out, 4), 0);
	assert_int_equal(out[4], 0xaa);
	assert_int_equal(rp_b64_decode("QUJDQUJD", 8, out, 5), 0);
	assert_int_equal(out[3], 0xaa);
	assert_int_equal(rp_b64_decode("QUJDQUI=", 8, out, 5), 5);
	assert_memory_equal(out, "ABCAB", 5);
	assert_int_equal(out[5], 0xaa);
}

static void
test_utf8_good(void **state)
{
	(void)state;
	UTF8_OK("");
	UTF8_OK("plain ASCII");
	UTF8_OK("a\0b");			/* NUL is valid UTF-8 */
	UTF8_OK("\x7f");
	UTF8_OK("\xc2\x80");			/* U+0080, smallest 2-byte */
	UTF8_OK("\xc3\xa9t\xc3\xa9");		/* été */
	UTF8_OK("\xdf\xbf");			/* U+07FF */
	UTF8_OK("\xe0\xa0\x80");		/* U+0800, smallest 3-byte */
	UTF8_OK("\xe2\x82\xac");		/* euro sign */
	UTF8_OK("\xed\x9f\xbf");		/* U+D7FF, below surrogates */
	UTF8_OK("\xee\x80\x80");		/* U+E000, above surrogates */
	UTF8_OK("\xef\xbf\xbf");		/* U+FFFF */
	UTF8_OK("\xf0\x90\x80\x80");		/* U+10000, smallest 4-byte */
	UTF8_OK("\xf0\x9f\x98\x80");		/* emoji */
	UTF8_OK("\xf4\x8f\xbf\xbf");		/* U+10FFFF, the maximum */
	/* Only n bytes are looked at. */
	assert_int_equal(rp_utf8_valid("ok\xff", 2), 1);
}

static void
test_utf8_bad(void **state)
{
	(void)state;
	/* Overlong forms. */
	UTF8_BAD("\xc0\x80");			/* NUL */
	UTF8_BAD("\xc0\xaf");			/* '/' */
	UTF8_BAD("\xc1\xbf");
	UTF8_BAD("\xe0\x80\x80");
	UTF8_BAD("\xe0\x9f\xbf");		/* U+07FF in 3 bytes */
	UTF8_BAD("\xf0\x80\x80\x80");
	UTF8_BAD("\xf0\x8f\xbf\xbf");		/* U+FFFF in 4 bytes */
	/* Surrogates, alone and paired (CESU-8). */
	UTF8_BAD("\xed\xa0\x80");		/* U+D800 */
	UTF8_BAD("\xed\xbf\xbf");		/* U+DFFF */
	UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80");
	/* Above U+10FFFF, and lead bytes that never occur. */
	UTF8_BAD("\xf4\x90\x80\x80");		/* U+110000 */
	UTF8_BAD("\xf5\x80\x80\x80");
	UTF8_BAD("\xf7\xbf\xbf\xbf");
	UTF8_BAD("\xf8\x88\x80\x80\x80");	/* old 5-byte form */
	UTF8_BAD("\xfc\x84\x80\x80\x80\x80");	/* old 6-byte form */
	UTF8_BAD("\xfe");
	UTF8_BAD("\xff");
	/* Truncated sequences, at the end and in the middle. */
	UTF8_BAD("\xc3");
	UTF8_BAD("\xe2\x82");
	UTF8_BAD("\xf0\x9f\x98");
	UTF8_BAD("a\xe2\x82" "b");
	UTF8_BAD("\xf0\x9f" "abc");
	assert_int_equal(rp_utf8_valid("\xc3\xa9", 1), 0);
	/* Lone and extra continuation bytes. */
	UTF8_BAD("\x80");
	UTF8_BAD("\xbf");
	UTF8_BAD("a\x80z");
	UTF8_BAD("\xc3\xa9\xa9");
	UTF8_BAD("\xe2\x82\xac\x80");
	/* A continuation byte where a lead is replaced by ASCII. */
	UTF8_BAD("\xe2" "a\xac");
}

static void
test_fail(void **state)
{
	struct rp_errinfo	 ei;
	char			 longmsg[400];
	enum rp_err		 e;

	(void)state;
	assert_int_equal(rp_fail(&ei, RP_ERR_BAD_INPUT, "bad_serial",
	    "serial %s is not hex", "zz"), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_serial");
	assert_string_equal(ei.msg, "serial zz is not hex");
	assert_int_equal(rp_fail(NULL, RP_ERR_RATE, "x", "y"), RP_ERR_RATE);
	/* A long message is cut to the field, NUL terminated. */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	assert_int_equal(rp_fail(&ei, RP_ERR_INTERNAL, "c", "%s", longmsg),
	    RP_ERR_INTERNAL);
	assert_int_equal(strlen(ei.msg), RP_ERRMSG_MAX - 1);

	for (e = RP_OK; e < RP_ERR__MAX; e++)
		assert_non_null(rp_err_name(e));
	assert_string_equal(rp_err_name(RP_OK), "ok");
	assert_string_equal(rp_err_name(RP_ERR_FORBIDDEN), "forbidden");
	assert_string_equal(rp_err_name(RP_ERR_UNAVAILABLE), "unavailable");
	assert_string_equal(rp_err_name(RP_ERR__MAX), "internal_error");
	assert_string_equal(rp_err_name((enum rp_err)-1), "internal_error");
}

/* Writes n bytes of data to dir/name and returns the path (static). */
static const char *
put_file(const char *dir, const char *name, const char *data, size_t n)
{
	static char	 path[512];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
test_read_file(void **state)
{
	char		 dir[] = "/tmp/rp-buf-XXXXXX", why[128], path[600];
	const char	*p;
	char		*s;
	size_t		 len = 99;

	(void)state;
	assert_non_null(mkdtemp(dir));

	p = put_file(dir, "ok", "hello\n", 6);
	assert_non_null(s = rp_read_file(p, 6, &len, why, sizeof(why)));
	assert_int_equal(len, 6);
	assert_string_equal(s, "hello\n");
	free(s);

	/* Exactly one byte over the limit. */
	assert_null(rp_read_file(p, 5, &len, why, sizeof(why)));
	assert_non_null(strstr(why, "larger than 5 bytes"));

	p = put_file(dir, "nul", "a\0b", 3);
	assert_null(rp_read_file(p, 100, &len, why, sizeof(why)));
	assert_string_equal(why, "holds a NUL byte");

	p = put_file(dir, "empty", "", 0);
	assert_non_null(s = rp_read_file(p, 100, &len, why, sizeof(why)));
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);

	assert_null(rp_read_file(dir, 100, &len, why, sizeof(why)));
	assert_string_equal(why, "not a regular file");

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_null(rp_read_file(path, 100, &len, why, sizeof(why)));
	assert_non_null(strstr(why, "cannot open"));

	snprintf(path, sizeof(path), "%s/ok", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nul", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * rp_read_fileat(): relative to a directory, a symbolic link refused or
 * followed as asked, a FIFO refused at once, the mode of the file read.
 */
static void
test_read_fileat(void **state)
{
	char		 dir[] = "/tmp/rp-buf-XXXXXX", why[128], path[600];
	const char	*names[] = { "f", "link", "fifo" };
	char		*s;
	size_t		 len = 99, i;
	mode_t		 mode = 0;
	int		 dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)put_file(dir, "f", "secret", 6);
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(chmod(path, 0640), 0);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("f", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);

	/* Relative to dfd, with the mode of the file read. */
	assert_non_null(s = rp_read_fileat(dfd, "f", RP_READ_NOFOLLOW, 6,
	    &len, &mode, why, sizeof(why)));
	assert_int_equal(len, 6);
	assert_string_equal(s, "secret");
	assert_true(S_ISREG(mode));
	assert_int_equal(mode & 0777, 0640);
	free(s);

	/* A symbolic link: refused with RP_READ_NOFOLLOW, else followed. */
	assert_null(rp_read_fileat(dfd, "link", RP_READ_NOFOLLOW, 6, &len,
	    &mode, why, sizeof(why)));
	assert_string_equal(why, "a symbolic link, not followed");
	assert_non_null(s = rp_read_fileat(dfd, "link", 0, 6, &len, NULL, why,
	    sizeof(why)));
	assert_string_equal(s, "secret");
	free(s);

	/* A FIFO without a writer: refused, not waited on. */
	assert_null(rp_read_fileat(dfd, "fifo", 0, 6, &len, NULL, why,
	    sizeof(why)));
	assert_string_equal(why, "not a regular file");

	/* The limit is checked, and a name is relative to dfd only. */
	assert_null(rp_read_fileat(dfd, "f", 0, 5, &len, NULL, why,
	    sizeof(why)));
	assert_string_equal(why, "larger than 5 bytes");
	assert_null(rp_read_fileat(dfd, "ok", 0, 100, &len, NULL, why,
	    sizeof(why)));
	assert_non_null(strstr(why, "cannot open"));
	assert_null(rp_read_fileat(dfd, "f", 0, SIZE_MAX - 1, &len, NULL,
	    why, sizeof(why)));
	assert_string_equal(why, "limit too large");

	assert_int_equal(close(dfd), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_exact),
		cmocka_unit_test(test_limit_large),
		cmocka_unit_test(test_limit_size_max),
		cmocka_unit_test(test_reset_free),
		cmocka_unit_test(test_addf),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_encode_room),
		cmocka_unit_test(test_b64url_decode_bad),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_decode_bad),
		cmocka_unit_test(test_b64_decode_room),
		cmocka_unit_test(test_utf8_good),
		cmocka_unit_test(test_utf8_bad),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_fileat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
