/*
 * The command loop shared by every protocol state.  A state is a table of
 * commands; handlers return a status and a reply text, and only the loop
 * writes "+OK" and "-ERR", so a command gets exactly one reply.
 */
#ifndef POP3D_CMD_H
#define POP3D_CMD_H

#include <stddef.h>

#include "params.h"
#include "common/io.h"

enum cmd_status {
	CMD_OK,		/* "+OK text", then the body if one was set */
	CMD_ERR,	/* "-ERR text" */
	CMD_BAD,	/* "-ERR text", and it counts as a bad command */
	CMD_QUIT,	/* "+OK text", then the loop ends */
	CMD_CLOSE,	/* "-ERR text", then the loop ends */
	CMD_LEAVE	/* no reply: the state is over (the next one replies) */
};

#define ARGS_REST	(-1)	/* maxargs: the rest of the line is one argument */
#define CMD_ARGS_MAX	2

struct cmd_reply {
	char	 text[POP3_REPLY_MAX - 8];	/* room for "-ERR " and CRLF */
	/* Multi-line body written after "+OK text"; returns -1 if the connection died. */
	int	(*body)(struct io *, void *ctx);
};

struct command {
	const char	*name;
	int		 minargs;
	int		 maxargs;	/* or ARGS_REST */
	enum cmd_status	(*run)(void *ctx, struct cmd_reply *, int argc,
			    char **argv);
};

enum loop_end {
	LOOP_QUIT,	/* CMD_QUIT or CMD_CLOSE */
	LOOP_LEAVE,	/* CMD_LEAVE */
	LOOP_BAD,	/* too many bad commands; told the client */
	LOOP_EOF,
	LOOP_TIMEOUT,	/* told the client */
	LOOP_IOERR
};

struct cmd_state {
	struct io		*io;
	const struct command	*table;		/* ends with a NULL name */
	void			*ctx;
	int			 max_bad;
	int			 bad;		/* bad commands so far */
	unsigned long		 max_commands;	/* 0: no limit */
	unsigned long		 commands;	/* commands answered */
};

enum loop_end cmd_loop(struct cmd_state *);

/* One word for the log: quit, timeout, disconnected, ... */
const char *cmd_end_reason(enum loop_end);

/* Set the reply text and return status: `return cmd_say(r, CMD_ERR, "...")`. */
enum cmd_status cmd_say(struct cmd_reply *, enum cmd_status, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * A message number: decimal digits only, 1..count, no sign, no overflow.
 * Stores the 0-based index.  Returns 0, or -1 when invalid.
 */
int	cmd_msgnum(const char *, size_t count, size_t *idx);

/* A line count for TOP: decimal digits only, 0..LONG_MAX.  0 or -1. */
int	cmd_count(const char *, long *n);

#endif
