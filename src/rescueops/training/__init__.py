"""First-aid training of the public (应急救护培训): courses, sessions, 教考分离 exams, certificates, instructors, bases, targets."""
