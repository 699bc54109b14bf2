/* pop3d-session -I: the identity report of a checkpassword chain. */
#ifndef POP3D_IDENT_H
#define POP3D_IDENT_H

/* Report the ids, groups, HOME and directory on IDREPORT_FD; exit status. */
int	ident_report(void);

#endif
