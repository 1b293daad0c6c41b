use crate::{AssessmentType, Description, Input};

impl Description {
    /// A judge that rates the response.
    pub fn answer(name: &str, version: &str, description: &str) -> Self {
        Self::new(name, version, description, AssessmentType::Answer)
    }

    /// A judge that rates the retrieved context.
    pub fn retrieval(name: &str, version: &str, description: &str) -> Self {
        Self::new(name, version, description, AssessmentType::Retrieval)
    }

    fn new(name: &str, version: &str, description: &str, kind: AssessmentType) -> Self {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            assessment_type: kind,
            required_inputs: Vec::new(),
            endpoints: Vec::new(),
        }
    }

    /// The judge runs only on rows that have `input`.
    pub fn requires(mut self, input: Input) -> Self {
        self.required_inputs.push(vec![input]);
        self
    }

    /// The judge runs only on rows that have at least one of `inputs`.
    pub fn requires_any(mut self, inputs: impl IntoIterator<Item = Input>) -> Self {
        self.required_inputs.push(inputs.into_iter().collect());
        self
    }

    /// The judge calls this endpoint alias by name (besides the one in its
    /// configuration); the user must grant it.
    pub fn endpoint(mut self, alias: &str) -> Self {
        self.endpoints.push(alias.to_owned());
        self
    }
}
