"""The gig-market kiosk page (`GET /kiosk`), its device provisioning, start screen data, job detail with a QR
code, and the public posting page the QR code points to."""
