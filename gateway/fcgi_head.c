#include "fcgi_head.h"

#include <fastcgi.h>

int
sgw_fcgi_head_complete(const unsigned char *b, size_t n)
{
	size_t off = 0;

	while (off + FCGI_HEADER_LEN <= n) {
		size_t clen = (size_t)b[off + 4] << 8 | b[off + 5];
		int type = b[off + 1];

		if (b[off] != FCGI_VERSION_1)
			return 1;
		if (type == FCGI_PARAMS && clen == 0)
			return 1;
		if (type == FCGI_BEGIN_REQUEST &&
		    off + FCGI_HEADER_LEN + 2 <= n) {
			int role = b[off + 8] << 8 | b[off + 9];

			if (role != FCGI_RESPONDER && role != FCGI_AUTHORIZER)
				return 1;
		}
		off += FCGI_HEADER_LEN + clen + b[off + 6];
	}
	return 0;
}
