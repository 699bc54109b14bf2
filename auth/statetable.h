/*
 * A small table of keyed slots in one file of root's, shared by the
 * monitors of all connections: LOGIN-DELAY (auth/logindelay.c) and the
 * login throttle (auth/throttle.c).  Runs in the monitor, as root.
 *
 * The file is opened, checked and locked as a whole; nothing read from
 * it is believed before it is checked, and a file that cannot be trusted
 * is made anew (logged).  Whatever goes wrong, the caller is told there
 * is no table and lets the login go on.
 */
#ifndef POP3D_STATETABLE_H
#define POP3D_STATETABLE_H

#include <stddef.h>
#include <stdint.h>

/* A key: AUTH_USER_MAX, a prefix and a NUL, rounded to 8. */
#define ST_KEY		136
#define ST_DATA_MAX	8	/* octets of a table's own after the time */

/*
 * One table: its file, the configuration key naming its directory (for
 * messages), its header, and what its slots may hold: keys and data
 * that key_valid and data_valid (if any) accept.
 */
struct statetable {
	const char	*file;
	const char	*dirkey;
	const char	*magic;		/* 8 octets */
	uint32_t	 version;
	uint32_t	 slots;
	uint32_t	 probe;		/* slots looked at from a hash on */
	size_t		 datalen;	/* 0..ST_DATA_MAX */
	int		(*key_valid)(const char *);
	int		(*data_valid)(const unsigned char *);
};

/*
 * A slot as the file holds it: a NUL-padded key (none: a free slot), a
 * time in seconds since the epoch (never 0, never in the future) that
 * also decides which slot a full window gives up, and datalen octets.
 */
struct st_slot {
	char		key[ST_KEY];
	int64_t		when;
	unsigned char	data[ST_DATA_MAX];
};

/* The open, locked table; closing its descriptor ends the lock. */
struct st_handle {
	const struct statetable	*t;
	const char		*dir;
	int			 fd;
};

/*
 * Open and lock the table in dir, made 0700 if missing.  0, or -1: with
 * a reason in why when the directory cannot be used, else (why empty)
 * after logging what was wrong with the file or its lock.
 */
int	statetable_open(struct st_handle *, const struct statetable *,
	    const char *dir, char *why, size_t len);

/*
 * The slot of key, or the one to take for it (a free one, else the
 * oldest of its window): its index, with *found set and the slot in *s
 * when the key is there.  -1 on a read error (logged).
 */
long	statetable_find(struct st_handle *, const char *key, long long now,
	    struct st_slot *s, int *found);

/* Write slot number i; 0, or -1 (logged). */
int	statetable_put(struct st_handle *, long i, const struct st_slot *);

void	statetable_close(struct st_handle *);

/*
 * pop3d -t: the directory is usable, as statetable_open() needs it.  A
 * missing one is made (create), or else only its parent is looked at.
 */
int	statetable_dir_ok(const struct statetable *, const char *dir,
	    int create, char *why, size_t len);

#endif
