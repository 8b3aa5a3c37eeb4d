-- Two roles for people who read how handovers go (issue 16): `quality` (a quality coordinator, the
-- region's quality reports) and `patient-portal` (a portal that authenticated the patient, that
-- patient's handovers).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('sender', 'auditor', 'admin', 'quality', 'patient-portal'));
